// voxgate calibrate: derives a model's score normalisation cohort, LLR calibration and the
// thresholds of each security level from the operator's own labelled speech, and writes them
// beside the model (`<model stem>.calibration.json` + `.cohort.f32`).
//
// Trials are built the way the service meets them: each held-out speaker (one the model never
// saw) is enrolled from the first part (40 %) of the speech of each of their files, and the
// halves are cut into probes of each length (net speech, after the VAD). Every probe is scored
// against every enrolled speaker of the same set (corpus): impostors of another language or
// corpus would be easy non-targets and make the thresholds too lenient. All of it in the
// wideband, through an 8 kHz G.711 channel, and across the two (enrolled wideband and probed
// through G.711, or the other way round: the trials of the "cross" channel). A cohort of other
// speakers' mean embeddings (both channels) gives AS-Norm; the threshold of each level is the
// normalised score that holds its false-accept rate on that probe length's impostor trials.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/commands.h"
#include "app/model_loader.h"
#include "app/speech_set.h"
#include "voiceprint/calibration.h"
#include "voiceprint/calibration_fit.h"
#include "voiceprint/scoring.h"

namespace voxgate::app {
namespace {

using voiceprint::CalibrationTrial;
using voiceprint::Channel;
using voiceprint::SecurityLevel;

// Picks `count` cohort speakers evenly over the sorted speakers, up to `files` files each.
std::vector<SpeechItem> PickCohort(const std::vector<SpeechItem>& all, int count, int files) {
  std::map<std::string, std::vector<const SpeechItem*>> by_speaker;
  for (const auto& item : all) by_speaker[item.speaker].push_back(&item);
  std::vector<const std::vector<const SpeechItem*>*> speakers;
  for (const auto& [name, v] : by_speaker) speakers.push_back(&v);
  std::vector<SpeechItem> out;
  const size_t n = speakers.size();
  const size_t take = std::min(n, static_cast<size_t>(count));
  for (size_t k = 0; k < take; ++k) {
    const auto& v = *speakers[k * n / take];
    for (size_t f = 0; f < v.size() && static_cast<int>(f) < files; ++f) out.push_back(*v[f]);
  }
  return out;
}

// Mean embedding per speaker of the embedded cohort files, appended to `rows`.
void AddSpeakerMeans(const std::vector<SpeechItem>& items,
                     const std::vector<app::EmbeddedSpeech>& embedded, int dim,
                     std::vector<float>* rows, int* speakers) {
  std::map<std::string, std::vector<float>> sums;
  for (const auto& e : embedded) {
    if (e.embedding.empty()) continue;
    auto& s = sums[items[e.item].speaker];
    if (s.empty()) s.assign(dim, 0.0f);
    for (int d = 0; d < dim; ++d) s[d] += e.embedding[d];
  }
  for (auto& [name, s] : sums) {
    voiceprint::L2Normalize(s);
    rows->insert(rows->end(), s.begin(), s.end());
    ++*speakers;
  }
}

// FAR, FRR and inconclusive shares per channel and level of --check.
int PrintCheck(const std::array<VerdictTally, voiceprint::kChannelCount>& tallies,
               const CalibrateOptions& options, const std::string& model, size_t files,
               size_t speakers) {
  nlohmann::json out{
      {"model", model}, {"calibration", options.check}, {"files", files}, {"speakers", speakers}};
  for (int ch = 0; ch < voiceprint::kChannelCount; ++ch) {
    out[voiceprint::ChannelName(static_cast<Channel>(ch))] = tallies[ch].Json();
  }
  if (options.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("model:    {}\ncheck:    {} on {} files, {} speakers\n", model,
                           options.check, files, speakers);
  for (const char* ch : {"wideband", "telephone", "cross"}) {
    std::cout << ch << ":\n";
    for (SecurityLevel level : voiceprint::kSecurityLevels) {
      const auto& l = out[ch][voiceprint::SecurityLevelName(level)];
      std::cout << fmt::format(
          "  {:<11} target FAR {:4.1f} %  FAR {:5.2f} % ({} impostor trials)  FRR {:5.1f} %  "
          "inconclusive {:4.1f} % / {:4.1f} %\n",
          voiceprint::SecurityLevelName(level), 100 * l["target_far"].get<double>(),
          100 * l["far"].get<double>(), l["nontarget_trials"].get<size_t>(),
          100 * l["frr"].get<double>(), 100 * l["inconclusive_target"].get<double>(),
          100 * l["inconclusive_nontarget"].get<double>());
    }
  }
  return 0;
}

std::vector<double> ParseList(const std::string& text) {
  std::vector<double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(std::stod(text.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int RunCalibrate(const ModelOptions& model, const CalibrateOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<SpeechItem> items;
  for (const std::string& dir : options.dirs) {
    auto found = ListSpeakerFolder(dir, dir + ":");
    if (!found.ok()) return Fail(found.status());
    items.insert(items.end(), found->begin(), found->end());
  }
  if (!options.list.empty()) {
    auto listed = ReadSpeechList(options.list, options.root);
    if (!listed.ok()) return Fail(listed.status());
    items.insert(items.end(), listed->begin(), listed->end());
  }
  if (items.empty()) return Fail(InvalidArgumentError("give folders or --list of labelled speech"));
  std::vector<double> lengths;
  try {
    lengths = ParseList(options.probe_lengths);
  } catch (const std::exception&) {
    return Fail(InvalidArgumentError("--probe-lengths: comma-separated seconds, e.g. 1.5,3,5,8"));
  }
  if (lengths.empty() || lengths.front() < 0.5) {
    return Fail(InvalidArgumentError("--probe-lengths: lengths must be >= 0.5 s"));
  }

  auto embedder = LoadEmbedder(model);
  if (!embedder.ok()) return Fail(embedder.status());
  const voiceprint::ModelInfo& info = (*embedder)->model_info();
  const int dim = info.embedding_dim;
  const std::array<std::optional<audio::G711Law>, 2> channel_law{std::nullopt,
                                                                 audio::G711Law::kUlaw};

  // --check: an existing calibration judges these trials; its cohort normalises them.
  std::optional<voiceprint::Calibration> checked;
  if (!options.check.empty()) {
    auto c = LoadCalibration(info, options.check);
    if (!c.ok()) return Fail(c.status());
    checked = std::move(*c);
  }
  // The cohort: mean embeddings of other speakers, in both channels.
  std::vector<float> cohort_rows;
  int cohort_speakers = 0;
  int cohort_wideband_rows = 0;  // the first rows: wideband voices, then telephone ones
  size_t cohort_files = 0;
  if (!checked && (!options.cohort_dir.empty() || !options.cohort_list.empty()) &&
      options.cohort_size > 0) {
    std::vector<SpeechItem> all;
    if (!options.cohort_dir.empty()) {
      auto found = ListSpeakerFolder(options.cohort_dir);
      if (!found.ok()) return Fail(found.status());
      // Speaker labels are folder names; qualify them with the set (the folder above).
      for (auto& item : *found)
        item.speaker = std::filesystem::path(item.key).parent_path().string();
      all.insert(all.end(), found->begin(), found->end());
    }
    if (!options.cohort_list.empty()) {
      auto listed = ReadSpeechList(options.cohort_list, options.root);
      if (!listed.ok()) return Fail(listed.status());
      all.insert(all.end(), listed->begin(), listed->end());
    }
    const std::vector<SpeechItem> picked =
        PickCohort(all, options.cohort_size, options.cohort_files);
    cohort_files = picked.size();
    for (const auto& law : channel_law) {
      EmbedSetOptions eo;
      eo.telephone = law;
      eo.jobs = options.jobs;
      AddSpeakerMeans(picked, EmbedSet(**embedder, picked, eo), dim, &cohort_rows,
                      &cohort_speakers);
      if (!law) cohort_wideband_rows = cohort_speakers;
    }
  }
  voiceprint::ScoreCohort cohort;
  if (checked) {
    cohort = checked->cohort();
  } else if (!cohort_rows.empty()) {
    auto c = voiceprint::ScoreCohort::Create(std::move(cohort_rows), dim, options.top_n,
                                             cohort_wideband_rows);
    if (!c.ok()) return Fail(c.status());
    cohort = std::move(*c);
  }

  std::ofstream scores_out;
  if (!options.scores_file.empty()) {
    scores_out.open(options.scores_file, std::ios::trunc);
    if (!scores_out) return Fail(UnavailableError("cannot write " + options.scores_file));
    scores_out << "channel\tenrolled\tprobe\tprobe_s\ttarget\tscore\tnormalized\n";
  }
  std::array<VerdictTally, voiceprint::kChannelCount> tallies;  // --check, by channel
  std::array<voiceprint::ChannelCalibration, voiceprint::kChannelCount> channels;
  nlohmann::json report = nlohmann::json::object();
  const int rate = info.sample_rate_hz;
  // Per file and audio channel (wideband, G.711): the embedding of the first part of its speech,
  // and probes of each length from the rest.
  struct FileSpeech {
    std::vector<float> enroll;
    double enroll_s = 0.0;
    std::vector<std::vector<voiceprint::Embedding>> probes;  // by length
  };
  // Enrolled speakers: the speech-weighted mean of their files' first parts.
  struct Enrolled {
    std::string speaker, set;
    std::vector<float> voiceprint;
    double speech_s = 0.0;
    voiceprint::CohortStatsByChannel stats;
  };
  std::array<std::vector<FileSpeech>, 2> files;
  std::array<std::map<std::string, Enrolled>, 2> enrolled;
  for (int law = 0; law < 2; ++law) {
    files[law].resize(items.size());
    ParallelFor(items.size(), options.jobs, [&](size_t i) {
      auto clip = LoadClip(items[i], channel_law[law]);
      if (!clip.ok()) return;
      auto speech = (*embedder)->Speech(*clip);
      if (!speech.ok()) return;
      FileSpeech& f = files[law][i];
      const size_t half = static_cast<size_t>(speech->size() * options.enroll_fraction);
      const std::span<const float> all(*speech);
      auto enroll = (*embedder)->EmbedSpeech(all.first(half));
      if (!enroll.ok()) return;
      f.enroll = std::move(enroll->vector);
      f.enroll_s = enroll->speech_s;
      f.probes.resize(lengths.size());
      const std::span<const float> rest = all.subspan(half);
      for (size_t l = 0; l < lengths.size(); ++l) {
        const size_t len = static_cast<size_t>(lengths[l] * rate);
        for (size_t start = 0; start + len <= rest.size() &&
                               static_cast<int>(f.probes[l].size()) < options.max_probes;
             start += len) {
          auto e = (*embedder)->EmbedSpeech(rest.subspan(start, len));
          if (e.ok()) f.probes[l].push_back(std::move(*e));
        }
      }
    });
    for (size_t i = 0; i < items.size(); ++i) {
      const FileSpeech& f = files[law][i];
      if (f.enroll.empty()) continue;
      Enrolled& e = enrolled[law][items[i].speaker];
      e.speaker = items[i].speaker;
      e.set = items[i].set;
      if (e.voiceprint.empty()) e.voiceprint.assign(dim, 0.0f);
      for (int d = 0; d < dim; ++d) e.voiceprint[d] += static_cast<float>(f.enroll_s) * f.enroll[d];
      e.speech_s += f.enroll_s;
    }
    for (auto& [name, e] : enrolled[law]) {
      voiceprint::L2Normalize(e.voiceprint);
      e.stats = cohort.StatsByChannel(e.voiceprint);
    }
  }
  // The trials of each channel: (enrolled through, probed through) -- wideband: both clean;
  // telephone: both G.711; cross: one of each, both ways round.
  const std::array<std::vector<std::pair<int, int>>, voiceprint::kChannelCount> sides{
      {{{0, 0}}, {{1, 1}}, {{0, 1}, {1, 0}}}};
  for (int ch = 0; ch < voiceprint::kChannelCount; ++ch) {
    std::vector<std::vector<CalibrationTrial>> groups(lengths.size());
    std::vector<CalibrationTrial> all_trials;
    double stats_mean = 0.0, stats_std = 0.0;
    size_t stats_n = 0;
    nlohmann::json per_length = nlohmann::json::array();
    for (size_t l = 0; l < lengths.size(); ++l) {
      size_t probes = 0;
      for (const auto& [enroll_law, probe_law] : sides[ch]) {
        for (size_t i = 0; i < items.size(); ++i) {
          if (files[probe_law][i].probes.empty()) continue;
          for (const voiceprint::Embedding& p : files[probe_law][i].probes[l]) {
            ++probes;
            const voiceprint::CohortStatsByChannel ps = cohort.StatsByChannel(p.vector);
            // Each side against the cohort heard the way the other side was.
            const voiceprint::CohortStats& probe_stats = ps.In(enroll_law == 1);
            stats_mean += probe_stats.mean;
            stats_std += probe_stats.std;
            ++stats_n;
            for (const auto& [name, e] : enrolled[enroll_law]) {
              if (e.set != items[i].set) continue;
              const double s = voiceprint::Score(e.voiceprint, p.vector);
              const double n = cohort.empty() ? s
                                              : voiceprint::ScoreCohort::Normalize(
                                                    s, e.stats.In(probe_law == 1), probe_stats);
              const bool target = name == items[i].speaker;
              groups[l].push_back({n, p.speech_s, target});
              if (checked) {
                voiceprint::ProbeEvidence evidence;
                evidence.embedding = p.vector;
                evidence.speech_s = p.speech_s;
                evidence.quality = p.quality;
                evidence.cohort = ps;
                const voiceprint::EnrolledEvidence side{e.stats, enroll_law == 1};
                for (voiceprint::SecurityLevel level : voiceprint::kSecurityLevels) {
                  tallies[ch].Add(level, target, checked->Judge(s, side, evidence, level));
                }
              }
              if (scores_out.is_open()) {
                scores_out << voiceprint::ChannelName(static_cast<Channel>(ch)) << '\t' << name
                           << '\t' << items[i].key << '\t' << lengths[l] << '\t' << (target ? 1 : 0)
                           << '\t' << s << '\t' << n << '\n';
              }
            }
          }
        }
      }
      per_length.push_back({{"probe_s", lengths[l]}, {"probes", probes}});
      all_trials.insert(all_trials.end(), groups[l].begin(), groups[l].end());
    }
    voiceprint::ChannelCalibration& cal = channels[ch];
    cal.bands = voiceprint::FitBands(groups, lengths);
    cal.llr = voiceprint::FitLlr(all_trials);
    if (stats_n > 0) {
      cal.typical.mean = stats_mean / stats_n;
      cal.typical.std = stats_std / stats_n;
    }
    std::vector<voiceprint::Trial> eer_trials;
    for (const auto& t : all_trials) {
      eer_trials.push_back({static_cast<float>(t.normalized), t.target});
    }
    cal.eer = voiceprint::ComputeEer(eer_trials).eer;
    report[voiceprint::ChannelName(static_cast<Channel>(ch))] = {
        {"enrolled_speakers", enrolled[sides[ch][0].first].size()}, {"probes", per_length}};
  }

  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::set<std::string> speakers;
  for (const auto& item : items) speakers.insert(item.speaker);
  if (checked) return PrintCheck(tallies, options, info.id, items.size(), speakers.size());
  nlohmann::json provenance{
      {"made_by", "voxgate calibrate"},
      {"model", info.id},
      {"files", items.size()},
      {"speakers", speakers.size()},
      {"probe_lengths_s", lengths},
      {"design",
       "per speaker: enrolled from the first enroll_fraction of each file's speech; probes of "
       "each length from the rest; impostor trials within a set; channels: wideband (both sides "
       "clean), telephone (both through G.711 u-law), cross (one side each, both ways)"},
      {"max_probes_per_file", options.max_probes},
      {"enroll_fraction", options.enroll_fraction},
      {"trials", report},
      {"cohort",
       {{"speakers", cohort_speakers},
        {"files", cohort_files},
        {"dir", options.cohort_dir},
        {"list", options.cohort_list}}},
      {"list", options.list},
      {"dirs", options.dirs},
      {"note", options.note},
      {"wall_s", wall_s}};
  voiceprint::Calibration calibration(info.id, std::move(cohort), channels);
  const std::string out =
      options.out.empty() ? voiceprint::Calibration::PathForModel(info.path) : options.out;
  if (Status s = calibration.Save(out, provenance.dump()); !s.ok()) return Fail(s);

  std::cout << fmt::format("model:    {}\n", info.id)
            << fmt::format("data:     {} files, {} speakers; cohort {} entries (top {})\n",
                           items.size(), speakers.size(), calibration.cohort().count(),
                           calibration.cohort().top_n());
  for (int ch = 0; ch < voiceprint::kChannelCount; ++ch) {
    const auto& cal = channels[ch];
    std::cout << fmt::format("{}: EER {:.2f} %, llr = {:.3f} + {:.3f} s + {:.3f} q + {:.3f} s q\n",
                             voiceprint::ChannelName(static_cast<Channel>(ch)), 100 * cal.eer,
                             cal.llr.a, cal.llr.b, cal.llr.c, cal.llr.d);
    for (const auto& b : cal.bands) {
      std::cout << fmt::format("  >= {:4.1f} s  ({:6} target, {:7} non-target):", b.min_speech_s,
                               b.target_trials, b.nontarget_trials);
      for (SecurityLevel l : voiceprint::kSecurityLevels) {
        const int i = static_cast<int>(l);
        if (b.usable[i]) {
          std::cout << fmt::format("  {} t={:.3f} FAR {:.2f} % FRR {:.1f} %",
                                   voiceprint::SecurityLevelName(l), b.threshold[i], 100 * b.far[i],
                                   100 * b.frr[i]);
        } else {
          std::cout << fmt::format("  {} inconclusive", voiceprint::SecurityLevelName(l));
        }
      }
      std::cout << "\n";
    }
  }
  std::cout << fmt::format("wrote:    {} ({:.0f} s)\n", out, wall_s);
  return 0;
}

}  // namespace voxgate::app
