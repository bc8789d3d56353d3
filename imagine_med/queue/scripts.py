"""The queue's state changes, each one atomic Lua script on Redis.

Why Lua: fairness, limits and the lease checks read several keys and must decide and write
without another worker or submitter slipping in between (no locks, one round trip each).
Invariants the scripts keep:
- a queued job id is in exactly one pending list `pending:<lane>:<user>`;
- a user is in `ring:<lane>` iff that user's pending list in the lane is non-empty;
- a running job is in `running:<user>` and in `inflight`, and has a `lease:<job>` key while
  its worker is alive; only the worker named in the job and holding the current try may finish it;
- every state change appends one event to `events:<platform>` in the same script.
Keys are built from the prefix inside the scripts, so this needs one Redis (not Redis Cluster).
"""

from __future__ import annotations

from redis import Redis

PRELUDE = r"""
local function emit(p, jid, etype, extra, maxlen, now)
  local h = redis.call('HMGET', p..':job:'..jid, 'platform', 'team', 'channel', 'user',
    'reply_target', 'kind', 'group_id', 'group_index', 'group_size', 'status', 'tries',
    'max_tries', 'user_key', 'lane')
  local platform = h[1] or 'unknown'
  local f = {'type', etype, 'job_id', jid, 'platform', platform, 'team', h[2] or '',
    'channel', h[3] or '', 'user', h[4] or '', 'reply_target', h[5] or '', 'kind', h[6] or '',
    'group_id', h[7] or '', 'group_index', h[8] or '0', 'group_size', h[9] or '1',
    'status', h[10] or '', 'tries', h[11] or '0', 'max_tries', h[12] or '1',
    'user_key', h[13] or '', 'lane', h[14] or '', 'ts', now}
  for i = 1, #extra do f[#f + 1] = extra[i] end
  redis.call('XADD', p..':events:'..platform, 'MAXLEN', '~', maxlen, '*', unpack(f))
end

local function ensure_ring(p, lane, user)
  local ring = p..':ring:'..lane
  if not redis.call('LPOS', ring, user) then redis.call('RPUSH', ring, user) end
end

local function unqueue(p, jid, lane, user)
  local pend = p..':pending:'..lane..':'..user
  local removed = redis.call('LREM', pend, 0, jid)
  if redis.call('LLEN', pend) == 0 then redis.call('LREM', p..':ring:'..lane, 0, user) end
  return removed
end

-- A Prometheus histogram kept in Redis (one hash per series), so every process serves the same
-- numbers: per-bucket counts (made cumulative at scrape time), sum and count.
local BOUNDS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
local function observe(p, name, engine, value)
  local h = p..':stats:hist:'..name..':'..(engine or 'unknown')
  local v = tonumber(value) or 0
  local bucket = '+Inf'
  for _, b in ipairs(BOUNDS) do
    if v <= b then bucket = tostring(b); break end
  end
  redis.call('HINCRBY', h, bucket, 1)
  redis.call('HINCRBYFLOAT', h, 'sum', v)
  redis.call('HINCRBY', h, 'count', 1)
  redis.call('SADD', p..':stats:hists', name..':'..(engine or 'unknown'))
end

-- A worker route `engine` serves every modality of the engine; `engine:modality` only that one.
local function routable(p, engine, modality)
  return redis.call('EXISTS', p..':served:'..engine) == 1
    or redis.call('EXISTS', p..':served:'..engine..':'..modality) == 1
end

local function wake(p, n)
  local w = p..':wake'
  for i = 1, n do redis.call('LPUSH', w, '1') end
  redis.call('LTRIM', w, 0, 63)
end
"""

# ARGV: prefix, user_key, lane, limit, held(0/1), now, maxlen, lanes_csv,
#       needed_routes_csv (engine:modality), known_engines_csv, max_held, job_json...
# Returns {1, active, held} (queued), {0, active, held} (over the user's limit) or
# {-1, route, serving_csv} (workers are running but none serves `route`, counted per engine in
# stats:unrouted; with no worker at all, jobs wait for the first one to start).
# Held jobs count toward the limit (they would run once released), and one user may have at
# most max_held of them: a stream of held prompts is not a way round it.
SUBMIT = PRELUDE + r"""
local p, user, lane = ARGV[1], ARGV[2], ARGV[3]
local limit, held, now, maxlen = tonumber(ARGV[4]), ARGV[5] == '1', ARGV[6], ARGV[7]
local max_held = tonumber(ARGV[11])
local n = #ARGV - 11
if redis.call('EXISTS', p..':served:*') == 0 and redis.call('EXISTS', p..':live') == 1 then
  for route in string.gmatch(ARGV[9], '[^,]+') do
    local engine, modality = string.match(route, '([^:]+):?(.*)')
    if not routable(p, engine, modality) then
      local serving = {}
      for e in string.gmatch(ARGV[10], '[^,]+') do
        if redis.call('EXISTS', p..':served:'..e) == 1 then serving[#serving + 1] = e end
      end
      redis.call('HINCRBY', p..':stats:unrouted', engine, 1)
      return {-1, route, table.concat(serving, ',')}
    end
  end
end
local active = redis.call('SCARD', p..':running:'..user)
for l in string.gmatch(ARGV[8], '[^,]+') do
  active = active + redis.call('LLEN', p..':pending:'..l..':'..user)
end
local parked = 0
for _, jid in ipairs(redis.call('ZRANGE', p..':userjobs:'..user, 0, -1)) do
  if redis.call('HGET', p..':job:'..jid, 'status') == 'held' then parked = parked + 1 end
end
if active + parked + n > limit or (held and parked + n > max_held) then
  return {0, active, parked}
end
for i = 12, #ARGV do
  local job = cjson.decode(ARGV[i])
  local jid = job['id']
  local flat = {}
  for k, v in pairs(job) do flat[#flat + 1] = k; flat[#flat + 1] = tostring(v) end
  redis.call('HSET', p..':job:'..jid, unpack(flat))
  redis.call('ZADD', p..':userjobs:'..user, now, jid)
  redis.call('SADD', p..':platforms', job['platform'])
  if held then
    redis.call('HSET', p..':job:'..jid, 'status', 'held')
    redis.call('SADD', p..':held', jid)
    emit(p, jid, 'held', {}, maxlen, now)
  else
    redis.call('HSET', p..':job:'..jid, 'status', 'queued', 'queued_at', now)
    redis.call('RPUSH', p..':pending:'..lane..':'..user, jid)
    emit(p, jid, 'queued', {}, maxlen, now)
  end
end
if not held then
  ensure_ring(p, lane, user)
  wake(p, n)
end
local keep = redis.call('ZCARD', p..':userjobs:'..user) - 200
if keep > 0 then redis.call('ZREMRANGEBYRANK', p..':userjobs:'..user, 0, keep - 1) end
return {1, active, parked}
"""

# ARGV: prefix, worker, now, lease_ms, max_running, maxlen, routes_csv ('*': any), lanes...
# A route is an engine (all its modalities) or engine:modality. A worker only takes jobs on its
# routes (a CPU box never takes a diffusion job); skipping a user's jobs it does not serve keeps
# that user's place in the ring, so fairness and lanes hold across routes.
CLAIM = PRELUDE + r"""
local p, worker, now = ARGV[1], ARGV[2], ARGV[3]
local lease_ms, maxrun, maxlen = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local any_engine = ARGV[7] == '*'
local served = {}
for e in string.gmatch(ARGV[7], '[^,]+') do served[e] = true end
for li = 8, #ARGV do
  local lane = ARGV[li]
  local ring = p..':ring:'..lane
  local n = redis.call('LLEN', ring)
  for i = 1, n do
    local user = redis.call('LPOP', ring)
    if not user then break end
    local pend = p..':pending:'..lane..':'..user
    if redis.call('SCARD', p..':running:'..user) >= maxrun then
      redis.call('RPUSH', ring, user)
    else
      local jid = nil
      if any_engine then
        jid = redis.call('LPOP', pend)
      else
        for _, cand in ipairs(redis.call('LRANGE', pend, 0, -1)) do
          local r = redis.call('HMGET', p..':job:'..cand, 'engine', 'modality')
          local engine, modality = r[1], r[2]
          if (not engine) or served[engine] or (modality and served[engine..':'..modality]) then
            redis.call('LREM', pend, 1, cand)
            jid = cand
            break
          end
        end
      end
      if redis.call('LLEN', pend) > 0 then redis.call('RPUSH', ring, user) end
      if jid then
        local key = p..':job:'..jid
        local tries = redis.call('HINCRBY', key, 'tries', 1)
        redis.call('HSET', key, 'status', 'running', 'worker', worker, 'started_at', now,
          'progress', '0', 'stage', '')
        redis.call('SADD', p..':running:'..user, jid)
        redis.call('ZADD', p..':inflight', now, jid)
        redis.call('SET', p..':lease:'..jid, worker..'#'..tries, 'PX', lease_ms)
        local queued_at = tonumber(redis.call('HGET', key, 'queued_at') or now)
        redis.call('LPUSH', p..':stats:wait', tostring(tonumber(now) - queued_at))
        redis.call('LTRIM', p..':stats:wait', 0, 999)
        observe(p, 'wait', redis.call('HGET', key, 'engine'), tonumber(now) - queued_at)
        emit(p, jid, 'started', {}, maxlen, now)
        local out = {jid, tostring(tries)}
        for _, v in ipairs(redis.call('HGETALL', key)) do out[#out + 1] = v end
        return out
      end
    end
  end
end
return false
"""

# ARGV: prefix, job_id, worker, try, status, now, maxlen, render_s, ttl, fields_json
# Returns 0 (this try no longer owns the job), 1 (published as given) or 2 (published as
# cancelled): a cancel requested while the job ran wins over its outcome, whatever the worker
# saw, so a "cancelling" job always ends "cancelled" and no result of it is published.
FINISH = PRELUDE + r"""
local p, jid, worker, try, status, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local maxlen, render_s, ttl = ARGV[7], ARGV[8], tonumber(ARGV[9])
local key = p..':job:'..jid
local cur = redis.call('HMGET', key, 'status', 'worker', 'tries', 'user_key')
if cur[1] ~= 'running' or cur[2] ~= worker or cur[3] ~= try then return 0 end
local extra = {}
local fields = cjson.decode(ARGV[10])
local reason = redis.call('GET', p..':cancel:'..jid)
local outcome = 1
if reason and status ~= 'cancelled' then
  status = 'cancelled'
  fields = {message = reason, error = reason}
  outcome = 2
end
local flat = {'status', status, 'finished_at', now}
for k, v in pairs(fields) do
  flat[#flat + 1] = k; flat[#flat + 1] = v
  extra[#extra + 1] = k; extra[#extra + 1] = v
end
redis.call('HSET', key, unpack(flat))
redis.call('SREM', p..':running:'..cur[4], jid)
redis.call('ZREM', p..':inflight', jid)
redis.call('DEL', p..':lease:'..jid, p..':cancel:'..jid)
redis.call('INCR', p..':stats:'..status)
if status == 'done' then
  redis.call('LPUSH', p..':stats:render', render_s)
  redis.call('LTRIM', p..':stats:render', 0, 999)
  observe(p, 'render', redis.call('HGET', key, 'engine'), render_s)
end
emit(p, jid, status, extra, maxlen, now)
if ttl > 0 then redis.call('EXPIRE', key, ttl) end
wake(p, 1)
return outcome
"""

# ARGV: prefix, job_id, now, maxlen, reason, ttl (a cancelled record expires like a finished one)
CANCEL = PRELUDE + r"""
local p, jid, now, maxlen, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl = tonumber(ARGV[6] or '0')
local key = p..':job:'..jid
local h = redis.call('HMGET', key, 'status', 'lane', 'user_key')
local st = h[1]
if not st then return 'missing' end
if st == 'queued' or st == 'held' then
  if st == 'queued' then unqueue(p, jid, h[2], h[3]) else redis.call('SREM', p..':held', jid) end
  redis.call('HSET', key, 'status', 'cancelled', 'finished_at', now, 'error', reason)
  redis.call('INCR', p..':stats:cancelled')
  emit(p, jid, 'cancelled', {'message', reason}, maxlen, now)
  if ttl > 0 then redis.call('EXPIRE', key, ttl) end
  return 'cancelled'
end
if st == 'running' then
  redis.call('SET', p..':cancel:'..jid, reason, 'EX', 86400)
  return 'cancelling'
end
return st
"""

# ARGV: prefix, job_id, now, maxlen, reason  (queued -> held)
HOLD = PRELUDE + r"""
local p, jid, now, maxlen, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p..':job:'..jid
local h = redis.call('HMGET', key, 'status', 'lane', 'user_key')
if h[1] ~= 'queued' then return h[1] or 'missing' end
unqueue(p, jid, h[2], h[3])
redis.call('HSET', key, 'status', 'held', 'hold_reason', reason)
redis.call('SADD', p..':held', jid)
emit(p, jid, 'held', {'message', reason}, maxlen, now)
return 'held'
"""

# ARGV: prefix, job_id, now, maxlen  (held -> queued, at the front of its user's line)
RELEASE = PRELUDE + r"""
local p, jid, now, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = p..':job:'..jid
local h = redis.call('HMGET', key, 'status', 'lane', 'user_key')
if h[1] ~= 'held' then return h[1] or 'missing' end
redis.call('SREM', p..':held', jid)
redis.call('HSET', key, 'status', 'queued', 'queued_at', now)
redis.call('LPUSH', p..':pending:'..h[2]..':'..h[3], jid)
ensure_ring(p, h[2], h[3])
emit(p, jid, 'queued', {}, maxlen, now)
wake(p, 1)
return 'queued'
"""

# ARGV: prefix, now, maxlen, ttl[, dead_worker]
# Jobs whose lease expired (worker killed or frozen): requeue at the front of the user's line,
# or fail once max_tries is used up; a cancel requested meanwhile wins. Ended records expire
# after `ttl` seconds, like finished ones. `dead_worker` names a worker known to be dead (its
# supervisor saw it exit): its leases count as expired now, instead of after lease_s.
REAP = PRELUDE + r"""
local p, now, maxlen = ARGV[1], ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[4] or '0')
local dead = ARGV[5]
local out = {}
for _, jid in ipairs(redis.call('ZRANGE', p..':inflight', 0, -1)) do
  if dead and dead ~= '' then
    local lease = redis.call('GET', p..':lease:'..jid)
    if lease and string.sub(lease, 1, #dead + 1) == dead..'#' then
      redis.call('DEL', p..':lease:'..jid)
    end
  end
  if redis.call('EXISTS', p..':lease:'..jid) == 0 then
    local key = p..':job:'..jid
    local h = redis.call('HMGET', key, 'status', 'lane', 'user_key', 'tries', 'max_tries', 'worker')
    redis.call('ZREM', p..':inflight', jid)
    if h[1] == 'running' then
      redis.call('SREM', p..':running:'..h[3], jid)
      local lost = 'worker ' .. (h[6] or '?') .. ' stopped responding'
      if redis.call('EXISTS', p..':cancel:'..jid) == 1 then
        redis.call('DEL', p..':cancel:'..jid)
        redis.call('HSET', key, 'status', 'cancelled', 'finished_at', now)
        redis.call('INCR', p..':stats:cancelled')
        emit(p, jid, 'cancelled', {'message', 'Cancelled.'}, maxlen, now)
        if ttl > 0 then redis.call('EXPIRE', key, ttl) end
        out[#out + 1] = jid; out[#out + 1] = 'cancelled'
      elseif tonumber(h[4] or '0') < tonumber(h[5] or '1') then
        redis.call('HSET', key, 'status', 'queued', 'queued_at', now, 'worker', '',
          'error', lost)
        redis.call('LPUSH', p..':pending:'..h[2]..':'..h[3], jid)
        ensure_ring(p, h[2], h[3])
        emit(p, jid, 'requeued', {'message', lost .. '; retrying'}, maxlen, now)
        wake(p, 1)
        out[#out + 1] = jid; out[#out + 1] = 'requeued'
      else
        local msg = lost .. ' on each of ' .. (h[4] or '?') .. ' tries; giving up'
        redis.call('HSET', key, 'status', 'failed', 'finished_at', now, 'error', msg)
        redis.call('INCR', p..':stats:failed')
        emit(p, jid, 'failed', {'error', msg}, maxlen, now)
        if ttl > 0 then redis.call('EXPIRE', key, ttl) end
        out[#out + 1] = jid; out[#out + 1] = 'failed'
      end
    end
  end
end
return out
"""


class Scripts:
    """The registered scripts for one Redis connection (EVALSHA, reloaded if Redis restarted)."""

    def __init__(self, redis: Redis) -> None:
        self.submit = redis.register_script(SUBMIT)
        self.claim = redis.register_script(CLAIM)
        self.finish = redis.register_script(FINISH)
        self.cancel = redis.register_script(CANCEL)
        self.hold = redis.register_script(HOLD)
        self.release = redis.register_script(RELEASE)
        self.reap = redis.register_script(REAP)
