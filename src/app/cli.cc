#include "app/cli.h"

#include <CLI/CLI.hpp>

#include "app/commands.h"

namespace voxgate::app {

namespace {

void AddModelOptions(CLI::App* cmd, ModelOptions* m) {
  cmd->add_option(
      "--model", m->model_path,
      "speaker model (.onnx); default $VOXGATE_MODEL_PATH or models/voxgate-starter.onnx");
  cmd->add_option("--threads", m->num_threads, "ONNX Runtime threads per inference")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("!--no-vad", m->use_vad, "embed the whole signal instead of VAD-trimmed speech");
  cmd->add_option("--max-speech", m->max_speech_s,
                  "use only the first S seconds of speech (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--window", m->window_s, "embed long speech in windows of S seconds, averaged")
      ->check(CLI::Range(1.0, 3600.0));
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"voxgate: real-time voice gateway"};
  app.require_subcommand(1);

  ModelOptions model;
  EmbedOptions embed;
  CLI::App* embed_cmd = app.add_subcommand("embed", "print the speaker embedding of an audio file");
  embed_cmd->add_option("file", embed.file, "audio file")->required();
  embed_cmd->add_flag("--json", embed.json, "JSON output (the default; kept for scripts)");
  AddModelOptions(embed_cmd, &model);

  CompareOptions compare;
  CLI::App* compare_cmd = app.add_subcommand("compare", "score two recordings: same speaker?");
  compare_cmd->add_option("a", compare.file_a, "first audio file")->required();
  compare_cmd->add_option("b", compare.file_b, "second audio file")->required();
  compare_cmd->add_option("--threshold", compare.threshold,
                          "decision threshold (default: the model's calibrated one)");
  AddModelOptions(compare_cmd, &model);

  EvalOptions eval;
  CLI::App* eval_cmd = app.add_subcommand(
      "eval", "EER and minDCF over a folder of <speaker>/<utterance> audio files");
  eval_cmd->add_option("dir", eval.dir, "folder; a file's speaker is its parent folder's name");
  eval_cmd->add_option("--list", eval.list, "instead of a folder: '<path>\\t<speaker>' lines");
  eval_cmd->add_option("--root", eval.root, "folder the list's relative paths resolve against");
  eval_cmd->add_option("--trials", eval.trials_file,
                       "trial list: lines 'enroll test target|nontarget' (paths under DIR)");
  eval_cmd
      ->add_option("--telephone", eval.telephone,
                   "pass the audio through an 8 kHz G.711 channel first")
      ->check(CLI::IsMember({"ulaw", "alaw"}));
  eval_cmd
      ->add_flag("--cross", eval.cross,
                 "with --telephone: only the probe side of each trial goes through G.711, the "
                 "enrolled side stays wideband (an app-enrolled user calling in)")
      ->needs("--telephone");
  eval_cmd->add_option("--jobs", eval.jobs, "parallel embeddings (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  eval_cmd->add_option("--p-target", eval.p_target, "prior of a target trial for minDCF")
      ->check(CLI::Range(1e-6, 0.5));
  eval_cmd->add_flag("--json", eval.json, "JSON output");
  eval_cmd->add_option("--calibration", eval.calibration_file,
                       "calibration file (default: beside the model; 'none': uncalibrated)");
  eval_cmd->add_option("--scores", eval.scores_file,
                       "write every trial: enroll, test, target, score, normalized, llr, speech_s");
  eval_cmd->add_option(
      "--plot", eval.plot_file,
      "write the DET curve and score histograms as PNG (needs python3-matplotlib)");
  AddModelOptions(eval_cmd, &model);

  CalibrateOptions cal;
  CLI::App* cal_cmd = app.add_subcommand(
      "calibrate",
      "derive AS-Norm cohort, LLR calibration and security-level thresholds for a model");
  cal_cmd->add_option("dirs", cal.dirs, "folders of <speaker>/<utterance> held-out speech");
  cal_cmd->add_option("--list", cal.list, "file of '<path>\\t<speaker>' lines");
  cal_cmd->add_option("--root", cal.root, "folder the list's relative paths resolve against");
  cal_cmd->add_option("--cohort", cal.cohort_dir,
                      "<set>/<speaker>/<utterance> speech of other speakers (the AS-Norm cohort)");
  cal_cmd->add_option("--cohort-list", cal.cohort_list,
                      "'<path>\\t<speaker>' lines of other speakers' speech (e.g. the model's "
                      "training manifest; relative to --root)");
  cal_cmd->add_option("--cohort-size", cal.cohort_size, "cohort speakers (0: no AS-Norm)")
      ->check(CLI::Range(0, 100000));
  cal_cmd->add_option("--cohort-files", cal.cohort_files, "files per cohort speaker")
      ->check(CLI::Range(1, 100));
  cal_cmd->add_option("--top-n", cal.top_n, "AS-Norm top-N")->check(CLI::Range(1, 100000));
  cal_cmd->add_option("--probe-lengths", cal.probe_lengths,
                      "probe lengths in s of speech, e.g. 1.5,3,5,8 (one score band each)");
  cal_cmd->add_option("--max-probes", cal.max_probes, "probes per file and length")
      ->check(CLI::Range(1, 1000));
  cal_cmd
      ->add_option("--enroll-fraction", cal.enroll_fraction,
                   "share of each file's speech that enrolls its speaker")
      ->check(CLI::Range(0.1, 0.9));
  cal_cmd->add_option("--out", cal.out, "calibration file (default: beside the model)");
  cal_cmd->add_option("--note", cal.note, "free text kept in the file");
  cal_cmd->add_option("--check", cal.check,
                      "judge the trials with this calibration file (FAR/FRR per level and channel) "
                      "instead of fitting and writing one");
  cal_cmd->add_flag("--json", cal.json, "--check: JSON output");
  cal_cmd->add_option(
      "--scores", cal.scores_file,
      "write every trial: channel, enrolled, probe file, target, score, normalized");
  cal_cmd->add_option("--jobs", cal.jobs, "parallel embeddings (default: one per core)");
  AddModelOptions(cal_cmd, &model);

  ServeOptions serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "run the voiceprint REST service");
  serve_cmd->add_option("--config", serve.config_file,
                        "YAML config (default: config/voxgate.yaml when present)");
  serve_cmd->add_option("--port", serve.port, "TCP port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--data-dir", serve.data_dir, "database, keys and key file directory");
  serve_cmd->add_flag("--dev", serve.dev, "development mode: no API-key authentication");
  serve_cmd->add_option("--console-dir", serve.console_dir,
                        "serve the console from this folder (e.g. web/) instead of the binary");

  GatewayOptions gateway;
  CLI::App* gateway_cmd =
      app.add_subcommand("gateway", "load-balance the REST API over the healthy cluster nodes");
  gateway_cmd->add_option("--config", gateway.config_file,
                          "YAML config (default: config/voxgate.yaml when present)");
  gateway_cmd->add_option("--port", gateway.port, "TCP port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  gateway_cmd->add_option("--host", gateway.host, "listen address");
  gateway_cmd
      ->add_option("--strategy", gateway.strategy,
                   "round_robin, random, least_connections, weighted_round_robin, "
                   "least_response_time")
      ->check(CLI::IsMember({"round_robin", "random", "least_connections", "weighted_round_robin",
                             "least_response_time"}));
  gateway_cmd->add_option("--redis-url", gateway.redis_url,
                          "node registry (default $VOXGATE_REDIS_URL, then store.redis.url)");
  gateway_cmd->add_option("--node", gateway.nodes, "static node host:port (repeatable)");
  gateway_cmd
      ->add_option("--health-interval-ms", gateway.health_interval_ms, "active health check period")
      ->check(CLI::Range(10, 3600000));

  ConfigCheckOptions config_check;
  CLI::App* config_cmd = app.add_subcommand("config", "the YAML configuration");
  config_cmd->require_subcommand(1);
  CLI::App* config_check_cmd = config_cmd->add_subcommand(
      "check", "validate a config file (unknown keys, types, ranges) without starting");
  config_check_cmd->add_option("file", config_check.file, "YAML config")->required();

  KeysOptions keys;
  CLI::App* keys_cmd = app.add_subcommand("keys", "manage API keys");
  keys_cmd->require_subcommand(1);
  keys_cmd->fallthrough();  // `keys create --data-dir D` as well as `keys --data-dir D create`
  keys_cmd->add_option("--data-dir", keys.data_dir, "where api_keys.json lives")
      ->envname("VOXGATE_DATA_DIR");
  CLI::App* keys_create = keys_cmd->add_subcommand("create", "create a key (printed once)");
  keys_create->add_option("--name", keys.name, "who the key is for")->required();
  keys_create->add_option("--role", keys.role, "client or admin")
      ->check(CLI::IsMember({"client", "admin"}));
  CLI::App* keys_list = keys_cmd->add_subcommand("list", "list keys (never the keys themselves)");
  CLI::App* keys_revoke = keys_cmd->add_subcommand("revoke", "revoke a key by id");
  keys_revoke->add_option("id", keys.id, "key id")->required();

  PushOptions push;
  CLI::App* push_cmd = app.add_subcommand("push", "broadcast a talking presenter live over RTMP");
  push_cmd->add_option("--url", push.url, "rtmp://host/app/key (or rtmp://host/app with --key-env)")
      ->required();
  push_cmd->add_option("--key-env", push.key_env, "environment variable holding the stream key");
  push_cmd->add_option("--key-file", push.key_file, "file whose first line is the stream key");
  push_cmd->add_option("--say", push.say, "text the presenter speaks (espeak-ng)");
  push_cmd->add_option("--file", push.file, "or an audio file to play");
  push_cmd->add_option("--preset", push.preset, "540p (960x540@25), 720p (1280x720@30), mobile");
  push_cmd->add_option("--seconds", push.seconds, "stop after N s (default: when the speech ends)")
      ->check(CLI::NonNegativeNumber);
  push_cmd->add_option("--name", push.name, "presenter's name on the card");
  push_cmd->add_option("--voice", push.voice, "espeak-ng voice");
  push_cmd->add_option("--fps", push.fps, "override the preset's frame rate")
      ->check(CLI::Range(1, 120));
  push_cmd->add_option("--bitrate", push.bitrate_kbps, "override the preset's video kbps")
      ->check(CLI::Range(50, 100000));
  push_cmd->add_option("--attempts", push.attempts, "connection attempts (-1: forever)")
      ->check(CLI::Range(-1, 1000));
  push_cmd->add_option("--video-pipe", push.video_pipe,
                       "raw BGRA pictures (WxH of the preset) from this file/FIFO, - for stdin, "
                       "paced at the frame rate, instead of the presenter card");

  EventsTailOptions tail;
  CLI::App* events_cmd = app.add_subcommand("events", "the cluster's event stream (Redis)");
  events_cmd->require_subcommand(1);
  CLI::App* tail_cmd =
      events_cmd->add_subcommand("tail", "print one JSON line per event of the stream");
  tail_cmd->add_option("--redis-url", tail.redis_url,
                       "redis://[:password@]host[:port][/db]; default $VOXGATE_REDIS_URL");
  tail_cmd->add_option("--stream", tail.stream_key, "stream key");
  tail_cmd->add_option("--type", tail.type_prefix, "only types starting with this prefix");
  tail_cmd->add_flag("--from-start", tail.from_start, "from the oldest entry the stream holds");
  tail_cmd->add_option("--count", tail.count, "exit after N events (0: follow for ever)")
      ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*embed_cmd) return RunEmbed(model, embed);
  if (*compare_cmd) return RunCompare(model, compare);
  if (*eval_cmd) return RunEval(model, eval);
  if (*cal_cmd) return RunCalibrate(model, cal);
  if (*serve_cmd) return RunServe(serve);
  if (*gateway_cmd) return RunGateway(gateway);
  if (*push_cmd) return RunPush(push);
  if (*tail_cmd) return RunEventsTail(tail);
  if (*config_check_cmd) return RunConfigCheck(config_check);
  if (*keys_cmd) {
    keys.action = *keys_create ? "create" : *keys_list ? "list" : "revoke";
    return RunKeys(keys);
  }
  return 2;
}

}  // namespace voxgate::app
