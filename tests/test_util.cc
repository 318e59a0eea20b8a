#include "test_util.h"

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

std::string RepoPath(const std::string& name) {
  return std::string(VOXGATE_SOURCE_DIR) + "/" + name;
}

std::string VoxgateBinary() { return std::string(VOXGATE_BINARY_DIR) + "/voxgate"; }

}  // namespace voxgate::testing
