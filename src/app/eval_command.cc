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
#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "audio/resampler.h"
#include "voiceprint/scoring.h"

namespace voxgate::app {
namespace {

namespace fs = std::filesystem;

bool IsAudioFile(const fs::path& p) {
  static const std::set<std::string> kExtensions{".wav", ".flac", ".mp3", ".m4a", ".aac",
                                                 ".ogg", ".opus", ".oga", ".webm"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return kExtensions.count(ext) > 0;
}

/// An 8 kHz G.711 telephone channel: band-limit to 8 kHz, compand, and back to the clip's rate.
Result<audio::AudioClip> TelephoneChannel(const audio::AudioClip& clip, audio::G711Law law) {
  VOXGATE_ASSIGN_OR_RETURN(std::vector<float> narrow,
                           audio::Resample(clip.samples, clip.sample_rate_hz, 8000));
  std::vector<float> coded = audio::G711Decode(audio::G711Encode(narrow, law), law);
  VOXGATE_ASSIGN_OR_RETURN(std::vector<float> wide,
                           audio::Resample(coded, 8000, clip.sample_rate_hz));
  return audio::AudioClip{std::move(wide), clip.sample_rate_hz};
}

struct Item {
  std::string path;     // as found
  std::string key;      // path relative to the eval folder
  std::string speaker;  // parent folder name
  std::vector<float> embedding;
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
  std::error_code ec;
  if (!fs::is_directory(options.dir, ec))
    return Fail(NotFoundError("no such folder " + options.dir));
  std::vector<Item> items;
  for (auto it = fs::recursive_directory_iterator(options.dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || !IsAudioFile(it->path())) continue;
    Item item;
    item.path = it->path().string();
    item.key = fs::relative(it->path(), options.dir).string();
    item.speaker = it->path().parent_path().filename().string();
    items.push_back(std::move(item));
  }
  if (ec) return Fail(InvalidArgumentError("cannot list " + options.dir + ": " + ec.message()));
  if (items.empty()) return Fail(NotFoundError("no audio files under " + options.dir));
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.key < b.key; });

  auto embedder = LoadEmbedder(model);
  if (!embedder.ok()) return Fail(embedder.status());
  const audio::G711Law law =
      options.telephone == "alaw" ? audio::G711Law::kAlaw : audio::G711Law::kUlaw;

  // Embed in parallel: one model session shared, one inference per worker at a time.
  const unsigned jobs =
      options.jobs > 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::atomic<size_t> next{0};
  const auto t0 = std::chrono::steady_clock::now();
  auto work = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      Item& item = items[i];
      auto clip = audio::DecodeFile(item.path);
      if (clip.ok() && !options.telephone.empty()) clip = TelephoneChannel(*clip, law);
      if (!clip.ok()) {
        item.status = clip.status();
        continue;
      }
      item.duration_s = clip->DurationS();
      auto e = (*embedder)->Embed(*clip);
      if (!e.ok()) {
        item.status = e.status();
        continue;
      }
      item.embedding = std::move(e->vector);
    }
  };
  std::vector<std::thread> workers;
  for (unsigned j = 0; j < jobs; ++j) workers.emplace_back(work);
  for (auto& w : workers) w.join();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

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

  std::vector<voiceprint::Trial> trials;
  size_t skipped = 0;
  auto add = [&](size_t a, size_t b, bool target) {
    if (items[a].embedding.empty() || items[b].embedding.empty()) {
      ++skipped;
      return;
    }
    trials.push_back({voiceprint::Score(items[a].embedding, items[b].embedding), target});
  };
  if (!options.trials_file.empty()) {
    auto specs = ReadTrials(options.trials_file, index);
    if (!specs.ok()) return Fail(specs.status());
    for (const TrialSpec& t : *specs) add(t.a, t.b, t.target);
  } else {
    for (size_t a = 0; a < items.size(); ++a) {
      for (size_t b = a + 1; b < items.size(); ++b) add(a, b, items[a].speaker == items[b].speaker);
    }
  }
  const voiceprint::EerResult r = voiceprint::ComputeEer(trials, options.p_target);
  if (r.num_target == 0 || r.num_nontarget == 0) {
    return Fail(UnusableError("need both same-speaker and different-speaker trials"));
  }

  const voiceprint::ModelInfo& info = (*embedder)->model_info();
  if (options.json) {
    nlohmann::json out{
        {"files", items.size()},
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
        {"channel", options.telephone.empty() ? "clean" : "g711-" + options.telephone},
        {"audio_s", audio_s},
        {"wall_s", wall_s}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("model:    {}\n", info.id)
              << fmt::format("files:    {} ({} speakers, {} failed)\n", items.size(),
                             speakers.size(), failed.size())
              << fmt::format("trials:   {} ({} target, {} nontarget, {} skipped)\n", trials.size(),
                             r.num_target, r.num_nontarget, skipped)
              << fmt::format("EER:      {:.2f} %  (threshold {:.4f})\n", 100 * r.eer, r.threshold)
              << fmt::format("minDCF:   {:.4f}  (p_target {}, threshold {:.4f})\n", r.min_dcf,
                             options.p_target, r.min_dcf_threshold)
              << fmt::format("speed:    {:.1f} s of audio in {:.1f} s ({} jobs)\n", audio_s, wall_s,
                             jobs);
    for (const auto& f : failed) {
      std::cout << "failed:   " << f["file"].get<std::string>() << ": "
                << f["error"].get<std::string>() << "\n";
    }
  }
  return 0;
}

}  // namespace voxgate::app
