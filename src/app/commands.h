// The CLI sub-commands. Each returns a process exit status and prints its result on stdout and a
// one-line error on stderr.
#pragma once

#include <string>
#include <vector>

namespace voxgate::app {

/// Options shared by every command that loads the speaker model.
struct ModelOptions {
  std::string model_path;  // empty: VOXGATE_MODEL_PATH, then models/voxgate-starter.onnx
  int num_threads = 1;     // ONNX Runtime threads per inference
  bool use_vad = true;
  double max_speech_s = 0.0;  // > 0: only the first this-many seconds of speech
  double window_s = 0.0;      // > 0: embedding window length (default: the Embedder's)
};

struct EmbedOptions {
  std::string file;
  bool json = false;
};

struct CompareOptions {
  std::string file_a;
  std::string file_b;
  double threshold = -2.0;  // < -1: the model's calibrated threshold
};

struct EvalOptions {
  std::string dir;   // <speaker>/<utterance> files ...
  std::string list;  // ... or "<path>\t<speaker>" lines (paths relative to `root`)
  std::string root;
  std::string trials_file;  // lines "enroll test target|nontarget"; empty: all pairs
  std::string telephone;    // "", "ulaw" or "alaw": pass audio through an 8 kHz G.711 channel
  bool cross = false;       // with telephone: only the probe side goes through it (enrolled clean)
  int jobs = 0;             // parallel embeddings; 0: one per core
  double p_target = 0.01;
  bool json = false;
  std::string calibration_file;  // empty: beside the model; "none": uncalibrated
  std::string scores_file;       // write every trial as a TSV line (for plots and analysis)
  std::string plot_file;         // PNG: DET curve and score histograms (scripts/plot_scores.py)
};

struct CalibrateOptions {
  std::vector<std::string> dirs;  // <speaker>/<utterance> folders of held-out speech
  std::string list;               // or/and lines "<path>\t<speaker>"
  std::string root;               // relative paths of the list resolve against it
  std::string cohort_dir;         // <set>/<speaker>/<utterance> speech of other speakers
  std::string cohort_list;        // or "<path>\t<speaker>" lines (e.g. the training manifest)
  int cohort_size = 500;          // cohort speakers (each in both channels)
  int cohort_files = 3;           // files per cohort speaker
  int top_n = 100;                // AS-Norm top-N
  std::string probe_lengths = "1.5,3,5,8";  // probe lengths (net speech, s): the score bands
  int max_probes = 6;                       // per file and length
  double enroll_fraction = 0.4;             // of each file's speech enrolls; probes: the rest
  std::string out;                          // empty: beside the model
  std::string note;                         // free text kept in the provenance
  std::string scores_file;                  // write every trial as a TSV line
  std::string check;  // a calibration file: judge these trials with it instead of fitting one
  bool json = false;  // --check: JSON output
  unsigned jobs = 0;
};

struct ServeOptions {
  std::string config_file;  // empty: config/voxgate.yaml when present
  int port = -1;            // >= 0 overrides server.port
  std::string data_dir;     // non-empty overrides data_dir
  bool dev = false;         // explicit no-auth dev mode
  std::string console_dir;  // non-empty: serve the console from this folder (web/), not the binary
};

struct KeysOptions {
  std::string action;  // create | list | revoke
  std::string data_dir = "./data";
  std::string name;             // create
  std::string role = "client";  // create: client | admin
  std::string id;               // revoke
};

struct PushOptions {
  std::string url;       // rtmp://host/app/key, or rtmp://host/app with key_env / key_file
  std::string key_env;   // environment variable holding the stream key
  std::string key_file;  // file whose first line is the stream key
  std::string say;       // text the presenter speaks
  std::string file;      // or a recording to play
  std::string preset = "540p";
  double seconds = 0;            // > 0: stop after this much stream time; 0: when the speech ends
  std::string name = "Voxgate";  // presenter's name on the card
  std::string voice = "en-us";   // espeak-ng voice
  int fps = 0;                   // > 0 overrides the preset
  int bitrate_kbps = 0;          // > 0 overrides the preset
  int attempts = 0;              // connection attempts; 0: the default (3); -1: forever
  std::string video_pipe;        // raw BGRA pictures of the preset's size from this file or
                                 // FIFO ("-": stdin), shown instead of the presenter card
};

struct EventsTailOptions {
  std::string redis_url;  // empty: $VOXGATE_REDIS_URL, then redis://127.0.0.1:6379/0
  std::string stream_key = "voxgate:events";
  std::string type_prefix;  // only events whose type starts with it ("": all)
  bool from_start = false;  // from the oldest entry kept, instead of new events only
  int count = 0;            // > 0: exit after printing this many
};

struct GatewayOptions {
  std::string config_file;         // empty: config/voxgate.yaml when present (its gateway: section)
  int port = -1;                   // >= 0 overrides gateway.port
  std::string host;                // non-empty overrides gateway.host
  std::string strategy;            // non-empty overrides gateway.strategy
  std::string redis_url;           // registry; empty: $VOXGATE_REDIS_URL, then store.redis.url
  std::vector<std::string> nodes;  // static host:port list instead of the registry
  int health_interval_ms = 0;      // > 0 overrides gateway.health.interval_ms
};

int RunEmbed(const ModelOptions& model, const EmbedOptions& options);
int RunPush(const PushOptions& options);
/// `voxgate events tail`: one JSON line per event of the cluster's stream.
int RunEventsTail(const EventsTailOptions& options);
struct ConfigCheckOptions {
  std::string file;
};

int RunServe(const ServeOptions& options);
int RunConfigCheck(const ConfigCheckOptions& options);
int RunGateway(const GatewayOptions& options);
int RunKeys(const KeysOptions& options);
int RunCompare(const ModelOptions& model, const CompareOptions& options);
int RunEval(const ModelOptions& model, const EvalOptions& options);
int RunCalibrate(const ModelOptions& model, const CalibrateOptions& options);

/// The model path that `model_path` (possibly empty) resolves to.
std::string ResolveModelPath(const std::string& model_path);

}  // namespace voxgate::app
