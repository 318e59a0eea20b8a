#include "app/speech_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "audio/audio_decoder.h"
#include "audio/resampler.h"

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

}  // namespace

Result<std::vector<SpeechItem>> ListSpeakerFolder(const std::string& dir,
                                                  const std::string& speaker_prefix) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFoundError("no such folder " + dir);
  std::vector<SpeechItem> items;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || !IsAudioFile(it->path())) continue;
    SpeechItem item;
    item.path = it->path().string();
    item.key = fs::relative(it->path(), dir).string();
    item.speaker = speaker_prefix + it->path().parent_path().filename().string();
    item.set = dir;
    items.push_back(std::move(item));
  }
  if (ec) return InvalidArgumentError("cannot list " + dir + ": " + ec.message());
  if (items.empty()) return NotFoundError("no audio files under " + dir);
  std::sort(items.begin(), items.end(),
            [](const SpeechItem& a, const SpeechItem& b) { return a.key < b.key; });
  return items;
}

Result<std::vector<SpeechItem>> ReadSpeechList(const std::string& file, const std::string& root) {
  std::ifstream in(file);
  if (!in) return NotFoundError("cannot open list " + file);
  const fs::path base = root.empty() ? fs::path(file).parent_path() : fs::path(root);
  std::vector<SpeechItem> items;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#' || (n == 1 && line == "path\tspeaker")) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 >= line.size()) {
      return InvalidArgumentError(fmt::format("{}:{}: expected '<path>\\t<speaker>'", file, n));
    }
    SpeechItem item;
    item.key = line.substr(0, tab);
    item.speaker = line.substr(tab + 1);
    item.set = item.speaker.substr(0, item.speaker.find('/'));
    item.path = fs::path(item.key).is_absolute() ? item.key : (base / item.key).string();
    items.push_back(std::move(item));
  }
  if (items.empty()) return NotFoundError("no files listed in " + file);
  return items;
}

Result<audio::AudioClip> TelephoneChannel(const audio::AudioClip& clip, audio::G711Law law) {
  VOXGATE_ASSIGN_OR_RETURN(std::vector<float> narrow,
                           audio::Resample(clip.samples, clip.sample_rate_hz, 8000));
  std::vector<float> coded = audio::G711Decode(audio::G711Encode(narrow, law), law);
  VOXGATE_ASSIGN_OR_RETURN(std::vector<float> wide,
                           audio::Resample(coded, 8000, clip.sample_rate_hz));
  return audio::AudioClip{std::move(wide), clip.sample_rate_hz};
}

void ParallelFor(size_t n, unsigned jobs, const std::function<void(size_t)>& fn) {
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> workers;
  for (unsigned j = 0; j < jobs; ++j) workers.emplace_back(work);
  for (auto& w : workers) w.join();
}

std::vector<EmbeddedSpeech> EmbedSet(const voiceprint::Embedder& embedder,
                                     const std::vector<SpeechItem>& items,
                                     const EmbedSetOptions& options) {
  std::vector<EmbeddedSpeech> out(items.size());
  ParallelFor(items.size(), options.jobs, [&](size_t i) {
    EmbeddedSpeech& e = out[i];
    e.item = i;
    auto clip = LoadClip(items[i], options.telephone);
    if (!clip.ok()) {
      e.status = clip.status();
      return;
    }
    e.duration_s = clip->DurationS();
    auto embedding = embedder.Embed(*clip);
    if (!embedding.ok()) {
      e.status = embedding.status();
      return;
    }
    e.embedding = std::move(embedding->vector);
    e.speech_s = embedding->speech_s;
    e.quality = embedding->quality;
  });
  return out;
}

Result<audio::AudioClip> LoadClip(const SpeechItem& item,
                                  const std::optional<audio::G711Law>& telephone) {
  auto clip = audio::DecodeFile(item.path);
  if (clip.ok() && telephone) clip = TelephoneChannel(*clip, *telephone);
  return clip;
}

void VerdictTally::Add(voiceprint::SecurityLevel level, bool target,
                       const voiceprint::Verdict& verdict) {
  Counts& c = counts_[static_cast<int>(level)][target ? 1 : 0];
  ++c.total;
  if (verdict.accepted()) ++c.accepted;
  if (verdict.inconclusive()) ++c.inconclusive;
}

nlohmann::json VerdictTally::Json() const {
  const auto ratio = [](size_t a, size_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; };
  nlohmann::json levels = nlohmann::json::object();
  for (voiceprint::SecurityLevel level : voiceprint::kSecurityLevels) {
    const Counts& n = counts_[static_cast<int>(level)][0];
    const Counts& t = counts_[static_cast<int>(level)][1];
    levels[voiceprint::SecurityLevelName(level)] = {
        {"target_far", voiceprint::TargetFalseAcceptRate(level)},
        {"far", ratio(n.accepted, n.total)},
        {"frr", ratio(t.total - t.accepted, t.total)},
        {"frr_decided", ratio(t.total - t.accepted - t.inconclusive, t.total - t.inconclusive)},
        {"inconclusive_target", ratio(t.inconclusive, t.total)},
        {"inconclusive_nontarget", ratio(n.inconclusive, n.total)},
        {"target_trials", t.total},
        {"nontarget_trials", n.total}};
  }
  return levels;
}

}  // namespace voxgate::app
