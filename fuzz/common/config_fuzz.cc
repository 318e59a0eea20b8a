// libFuzzer: YAML configuration text (an operator's file, outside input at start) through
// ConfigNode::Parse, typed reads at the paths the config structs use, and UnreadKeys, as serve
// and `voxgate config check` run them. Errors are fine; a throw, crash or hang is not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto root = voxgate::ConfigNode::Parse(text);
  if (!root.ok()) return 0;
  root->SetEnvForTesting(std::make_shared<voxgate::ConfigNode::EnvLookup>());
  int i = 0;
  int64_t l = 0;
  double d = 0;
  float f = 0;
  bool b = false;
  std::string s;
  std::vector<std::string> v;
  for (const char* section :
       {"server", "service", "store", "live", "sip", "gateway", "list", "base"}) {
    const voxgate::ConfigNode n = root->Child(section);
    for (const char* key :
         {"port", "host", "origins", "security_level", "backend", "enabled", "ratio", "x"}) {
      (void)n.Get(key, &i);
      (void)n.Get(key, &l);
      (void)n.Get(key, &d);
      (void)n.Get(key, &f);
      (void)n.Get(key, &b);
      (void)n.Get(key, &s);
      (void)n.Get(key, &v);
      (void)n.GetSecret(key, &s);
      (void)n.Child(key).Child("sqlite").Get("synchronous", &s);
    }
  }
  (void)root->UnreadKeys();
  return 0;
}
