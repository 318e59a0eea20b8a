#include "test_util.h"

#include <cstdio>
#include <cstdlib>

namespace voxgate::testing {

std::string TestDataPath(const std::string& name) {
  return std::string(VOXGATE_TEST_DATA_DIR) + "/" + name;
}

std::string SpeechPath(const std::string& name) {
  const char* env = std::getenv("VOXGATE_SPEECH_DIR");
  std::string base = env ? env : std::string(VOXGATE_SOURCE_DIR) + "/../shared/speech";
  return base + "/" + name;
}

std::string DevSetUtterance(const std::string& speaker_chapter, int n) {
  const std::string speaker = speaker_chapter.substr(0, speaker_chapter.find('-'));
  char name[32];
  std::snprintf(name, sizeof name, "-%04d.flac", n);
  return SpeechPath("resemblyzer-librispeech/librispeech_test-other/" + speaker + "/" +
                    speaker_chapter + name);
}

std::string RepoPath(const std::string& name) {
  return std::string(VOXGATE_SOURCE_DIR) + "/" + name;
}

std::string VoxgateBinary() { return std::string(VOXGATE_BINARY_DIR) + "/voxgate"; }

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string(ci) != "false" && std::string(ci) != "0";
}

}  // namespace voxgate::testing
