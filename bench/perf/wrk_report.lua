-- wrk reports its own summary; this adds one JSON line the benchmark parses:
-- requests, duration, latency percentiles (microseconds), non-2xx and socket errors.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
