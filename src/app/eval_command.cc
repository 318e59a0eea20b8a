// voxgate eval: embeds every audio file under a folder (in parallel) and scores all pairs, or the
// trials of a list, reporting EER and minDCF.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "app/model_loader.h"
#include "app/run_program.h"
#include "app/speech_set.h"
#include "voiceprint/calibration.h"
#include "voiceprint/scoring.h"

namespace voxgate::app {
namespace {

namespace fs = std::filesystem;

struct Item {
  std::string path;              // as found
  std::string key;               // path relative to the eval folder
  std::string speaker;           // parent folder name
  std::vector<float> embedding;  // probe side, and enrolled side without --cross
  std::vector<float> clean;      // --cross: the enrolled side, from the clean audio
  double duration_s = 0.0;
  Status status;
};

struct TrialSpec {
  size_t a, b;
  bool target;
};

Result<std::vector<TrialSpec>> ReadTrials(const std::string& file,
                                          const std::map<std::string, size_t>& index) {
  std::ifstream in(file);
  if (!in) return NotFoundError("cannot open trials file " + file);
  std::vector<TrialSpec> trials;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::istringstream ls(line);
    std::string enroll, test, label;
    if (!(ls >> enroll)) continue;  // blank line
    if (!(ls >> test >> label) || (label != "target" && label != "nontarget")) {
      return InvalidArgumentError(
          fmt::format("{}:{}: expected 'enroll test target|nontarget'", file, n));
    }
    auto a = index.find(enroll), b = index.find(test);
    if (a == index.end() || b == index.end()) {
      return NotFoundError(fmt::format("{}:{}: no audio file {} under the folder", file, n,
                                       a == index.end() ? enroll : test));
    }
    trials.push_back({a->second, b->second, label == "target"});
  }
  return trials;
}

}  // namespace

int RunEval(const ModelOptions& model, const EvalOptions& options) {
  if (options.dir.empty() == options.list.empty()) {
    return Fail(InvalidArgumentError("give a folder or --list, not both"));
  }
  auto listed = options.list.empty() ? ListSpeakerFolder(options.dir)
                                     : ReadSpeechList(options.list, options.root);
  if (!listed.ok()) return Fail(listed.status());
  std::vector<Item> items;
  for (const SpeechItem& s : *listed) items.push_back({s.path, s.key, s.speaker, {}, {}, 0.0, {}});

  auto embedder = LoadEmbedder(model);
  if (!embedder.ok()) return Fail(embedder.status());
  auto calibration = LoadCalibration((*embedder)->model_info(), options.calibration_file);
  if (!calibration.ok()) return Fail(calibration.status());

  EmbedSetOptions eo;
  if (!options.telephone.empty()) {
    eo.telephone = options.telephone == "alaw" ? audio::G711Law::kAlaw : audio::G711Law::kUlaw;
  }
  eo.jobs = options.jobs;
  const unsigned jobs =
      options.jobs > 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<EmbeddedSpeech> embedded = EmbedSet(**embedder, *listed, eo);
  // --cross: the enrolled side of each trial is the clean audio.
  std::vector<EmbeddedSpeech> clean;
  if (options.cross) {
    EmbedSetOptions co = eo;
    co.telephone.reset();
    clean = EmbedSet(**embedder, *listed, co);
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<voiceprint::ProbeEvidence> evidence(items.size());
  std::vector<voiceprint::EnrolledEvidence> enrolled(items.size());
  for (EmbeddedSpeech& e : embedded) {
    Item& item = items[e.item];
    item.duration_s = e.duration_s;
    item.status = e.status;
    item.embedding = std::move(e.embedding);
    evidence[e.item].speech_s = e.speech_s;
    evidence[e.item].quality = e.quality;
    enrolled[e.item].narrowband = e.quality.narrowband;
  }
  for (EmbeddedSpeech& e : clean) {
    Item& item = items[e.item];
    if (item.status.ok() && !e.status.ok()) item.status = e.status;
    if (e.status.ok()) item.clean = std::move(e.embedding);
    enrolled[e.item].narrowband = e.quality.narrowband;
  }
  auto enrolled_side = [&](size_t i) -> const std::vector<float>& {
    return options.cross ? items[i].clean : items[i].embedding;
  };
  for (size_t i = 0; i < items.size(); ++i) {
    evidence[i].embedding = items[i].embedding;
    evidence[i].cohort = calibration->StatsOf(items[i].embedding);
    enrolled[i].cohort = options.cross ? calibration->StatsOf(items[i].clean) : evidence[i].cohort;
  }

  std::map<std::string, size_t> index;
  std::set<std::string> speakers;
  nlohmann::json failed = nlohmann::json::array();
  double audio_s = 0.0;
  for (size_t i = 0; i < items.size(); ++i) {
    index[items[i].key] = i;
    audio_s += items[i].duration_s;
    if (!items[i].status.ok()) {
      failed.push_back({{"file", items[i].key}, {"error", items[i].status.message()}});
    } else {
      speakers.insert(items[i].speaker);
    }
  }

  std::vector<voiceprint::Trial> trials, normalized_trials;
  VerdictTally tally;
  size_t skipped = 0;
  std::ofstream scores_out;
  // A plot needs the trials: in the scores file asked for, or in one beside the picture.
  const std::string scores_file = !options.scores_file.empty() ? options.scores_file
                                  : !options.plot_file.empty() ? options.plot_file + ".scores.tsv"
                                                               : "";
  if (!scores_file.empty()) {
    scores_out.open(scores_file, std::ios::trunc);
    if (!scores_out) return Fail(UnavailableError("cannot write " + scores_file));
    scores_out << "enroll\ttest\ttarget\tscore\tnormalized\tllr\tspeech_s\n";
  }
  auto add = [&](size_t a, size_t b, bool target) {
    if (enrolled_side(a).empty() || items[b].embedding.empty()) {
      ++skipped;
      return;
    }
    trials.push_back({voiceprint::Score(enrolled_side(a), items[b].embedding), target});
    for (voiceprint::SecurityLevel level : voiceprint::kSecurityLevels) {
      const voiceprint::Verdict v =
          calibration->Judge(trials.back().score, enrolled[a], evidence[b], level);
      tally.Add(level, target, v);
      if (level == voiceprint::SecurityLevel::kBalanced) {
        normalized_trials.push_back({static_cast<float>(v.normalized), target});
        if (scores_out.is_open()) {
          scores_out << items[a].key << '\t' << items[b].key << '\t' << (target ? 1 : 0) << '\t'
                     << v.score << '\t' << v.normalized << '\t' << v.llr << '\t'
                     << evidence[b].speech_s << '\n';
        }
      }
    }
  };
  if (!options.trials_file.empty()) {
    auto specs = ReadTrials(options.trials_file, index);
    if (!specs.ok()) return Fail(specs.status());
    for (const TrialSpec& t : *specs) add(t.a, t.b, t.target);
  } else {
    for (size_t a = 0; a < items.size(); ++a) {
      for (size_t b = a + 1; b < items.size(); ++b) {
        // Impostors come from the same set (corpus, language): across sets they are too easy.
        if ((*listed)[a].set != (*listed)[b].set) continue;
        add(a, b, items[a].speaker == items[b].speaker);
      }
    }
  }
  const voiceprint::EerResult r = voiceprint::ComputeEer(trials, options.p_target);
  if (r.num_target == 0 || r.num_nontarget == 0) {
    return Fail(UnusableError("need both same-speaker and different-speaker trials"));
  }

  const voiceprint::EerResult rn = voiceprint::ComputeEer(normalized_trials, options.p_target);
  const voiceprint::Channel channel = options.telephone.empty() ? voiceprint::Channel::kWideband
                                      : options.cross           ? voiceprint::Channel::kCross
                                                                : voiceprint::Channel::kTelephone;
  if (!options.plot_file.empty()) {
    scores_out.close();
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        std::string(VOXGATE_SOURCE_DIR) + "/scripts/plot_scores.py",
        scores_file,
        options.plot_file,
        "--title",
        fmt::format("{} on {}{}", (*embedder)->model_info().id,
                    options.dir.empty() ? options.list : options.dir,
                    options.telephone.empty() ? ""
                    : options.cross
                        ? ", enrolled wideband, probed through G.711 " + options.telephone
                        : ", G.711 " + options.telephone),
        "--column",
        calibration->cohort().empty() ? "score" : "normalized"};
    // The levels' thresholds for the longest probes of the channel, on the plotted scale.
    const auto& bands = calibration->channel(channel).bands;
    if (calibration->calibrated() && !bands.empty()) {
      for (voiceprint::SecurityLevel level : voiceprint::kSecurityLevels) {
        argv.push_back("--threshold");
        argv.push_back(fmt::format("{}={}", voiceprint::SecurityLevelName(level),
                                   bands.back().threshold[static_cast<int>(level)]));
      }
    }
    if (Status s = RunProgram(argv); !s.ok()) return Fail(s.WithContext("plotting"));
  }
  const voiceprint::ModelInfo& info = (*embedder)->model_info();
  const nlohmann::json levels = tally.Json();
  if (options.json) {
    nlohmann::json out{{"files", items.size()},
                       {"speakers", speakers.size()},
                       {"failed", failed},
                       {"trials", trials.size()},
                       {"target_trials", r.num_target},
                       {"nontarget_trials", r.num_nontarget},
                       {"skipped_trials", skipped},
                       {"eer", r.eer},
                       {"eer_threshold", r.threshold},
                       {"min_dcf", r.min_dcf},
                       {"min_dcf_threshold", r.min_dcf_threshold},
                       {"p_target", options.p_target},
                       {"model", info.id},
                       {"model_threshold", DefaultThreshold(info)},
                       {"calibrated", calibration->calibrated()},
                       {"as_norm", !calibration->cohort().empty()},
                       {"normalized_eer", rn.eer},
                       {"normalized_min_dcf", rn.min_dcf},
                       {"security_levels", levels},
                       {"channel", options.telephone.empty() ? "clean"
                                   : options.cross           ? "cross-g711-" + options.telephone
                                                             : "g711-" + options.telephone},
                       {"audio_s", audio_s},
                       {"wall_s", wall_s}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("model:    {}\n", info.id)
              << fmt::format("channel:  {}\n", voiceprint::ChannelName(channel))
              << fmt::format("files:    {} ({} speakers, {} failed)\n", items.size(),
                             speakers.size(), failed.size())
              << fmt::format("trials:   {} ({} target, {} nontarget, {} skipped)\n", trials.size(),
                             r.num_target, r.num_nontarget, skipped)
              << fmt::format("EER:      {:.2f} %  (threshold {:.4f})\n", 100 * r.eer, r.threshold)
              << fmt::format("minDCF:   {:.4f}  (p_target {}, threshold {:.4f})\n", r.min_dcf,
                             options.p_target, r.min_dcf_threshold)
              << fmt::format("speed:    {:.1f} s of audio in {:.1f} s ({} jobs)\n", audio_s, wall_s,
                             jobs);
    if (calibration->calibrated()) {
      std::cout << fmt::format("AS-Norm:  {}  EER {:.2f} %  minDCF {:.4f}\n",
                               calibration->cohort().empty() ? "off" : "on", 100 * rn.eer,
                               rn.min_dcf);
    }
    std::cout << "level       target FAR   FAR       FRR      inconclusive (target / impostor)\n";
    for (voiceprint::SecurityLevel level : voiceprint::kSecurityLevels) {
      const auto& l = levels[voiceprint::SecurityLevelName(level)];
      std::cout << fmt::format("{:<11} {:6.1f} %  {:6.2f} %  {:6.2f} %  {:5.1f} % / {:5.1f} %\n",
                               voiceprint::SecurityLevelName(level),
                               100 * l["target_far"].get<double>(), 100 * l["far"].get<double>(),
                               100 * l["frr"].get<double>(),
                               100 * l["inconclusive_target"].get<double>(),
                               100 * l["inconclusive_nontarget"].get<double>());
    }
    for (const auto& f : failed) {
      std::cout << "failed:   " << f["file"].get<std::string>() << ": "
                << f["error"].get<std::string>() << "\n";
    }
  }
  return 0;
}

}  // namespace voxgate::app
