-- wrk script for bench/http_verify_bench.sh: POST /api/v1/voiceprint/verify with prebuilt
-- multipart bodies, one per (user, clip) line of the manifest named by VERIFY_MANIFEST
-- ("USER_ID<TAB>PATH" lines), round robin, each thread starting at a different line. At the end it
-- prints one JSON line of figures (latencies in ms) for the script to read.
--   VERIFY_MANIFEST=clips.tsv wrk -t2 -c4 -d15s -s bench/wrk/verify.lua http://127.0.0.1:8080
local boundary = "----voxgate-bench-7d1c0e"
local requests = {}
local next_index = 0
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function part(name, value, filename)
  local head = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\""
  if filename then
    head = head .. "; filename=\"" .. filename .. "\"\r\nContent-Type: audio/wav"
  end
  return head .. "\r\n\r\n" .. value .. "\r\n"
end

function init(args)
  local manifest = assert(os.getenv("VERIFY_MANIFEST"), "set VERIFY_MANIFEST")
  for line in io.lines(manifest) do
    local user, path = line:match("^(%S+)\t(.+)$")
    if user then
      local body = part("user_id", user) .. part("audio", read_file(path), "clip.wav") ..
                   "--" .. boundary .. "--\r\n"
      requests[#requests + 1] = wrk.format("POST", "/api/v1/voiceprint/verify",
        {["Content-Type"] = "multipart/form-data; boundary=" .. boundary}, body)
    end
  end
  assert(#requests > 0, "empty manifest " .. manifest)
  next_index = ((thread_index or 1) - 1) * 7
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

-- done(): the JSON summary line the benchmark scripts parse.
dofile("bench/wrk/summary.lua")
