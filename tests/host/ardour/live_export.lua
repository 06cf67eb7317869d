-- Continuo in a real DAW: headless Ardour 7 (ardour7-lua / luasession), "None (Dummy)" backend.
--
-- Builds a session with one audio track (no regions, input = the dummy backend's "Silence"
-- device, so the track feeds Continuo silence and anything audible is the take), inserts
-- Continuo (VST3) and a small Lua DSP probe after it, automates Generate and Temperature,
-- then runs four stages and prints what it saw:
--
--   live1   roll the transport in real time from 0 for CONTINUO_SECONDS
--   export  Ardour's own export (ARDOUR.SimpleExport, freewheel) of 0..CONTINUO_SECONDS to a
--           32-bit float WAV in CONTINUO_EXPORT_DIR
--   live2   roll live again, after the export
--   save    save the session (the driver then reloads it with reload.lua and compares chunks)
--
-- Each stage writes a marker line "=== STAGE <name> begin/end ===" to stderr, so the plugin's
-- own stderr lines ("continuo: activated at 48000 Hz, ... Realtime processing") can be tied to
-- the stage they came from. The probe (scripts/continuo_probe.lua) reports onsets/offsets of
-- non-silent audio at the session sample it saw them ("[probe] <stage> onset <sample> ...").
--
-- Run it through run.sh, which sets up the environment (plugin scan cache, probe script and
-- export preset on ARDOUR_DATA_PATH). Environment:
--   CONTINUO_SESSION_DIR   new session folder (must not exist)       required
--   CONTINUO_EXPORT_DIR    folder for the exported WAV                 required
--   CONTINUO_SECONDS       seconds of session time per stage           default 6
--   CONTINUO_BUFFER        engine block size in frames                 default 1024
--   CONTINUO_GEN_ON        sample where Generate goes 0->1             default 12000 (bar 1, beat 1.5)
--   CONTINUO_GEN_OFF       sample where Generate goes back to 0        default 16800 (+0.1 s)
--   CONTINUO_LENGTH_BARS   the Length parameter, in bars               default 1
--   CONTINUO_EXPORT_SECONDS  length of the exported range, in seconds     default CONTINUO_SECONDS
--   CONTINUO_SKIP_EXPORT   set to 1 to skip the export stage
--   CONTINUO_SKIP_LIVE1    set to 1 to skip the first live roll (export straight after setup)

dofile(assert(os.getenv("CONTINUO_ARDOUR_DIR"), "set CONTINUO_ARDOUR_DIR (run.sh does)") .. "/common.lua")

local SR = 48000
local function env_num(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then return default end
	return assert(tonumber(v), name .. " is not a number")
end
local SESSION_DIR = assert(os.getenv("CONTINUO_SESSION_DIR"), "set CONTINUO_SESSION_DIR")
local EXPORT_DIR = assert(os.getenv("CONTINUO_EXPORT_DIR"), "set CONTINUO_EXPORT_DIR")
local SECONDS = env_num("CONTINUO_SECONDS", 6)
local BUFFER = env_num("CONTINUO_BUFFER", 1024)
local GEN_ON = env_num("CONTINUO_GEN_ON", 12000)
local GEN_OFF = env_num("CONTINUO_GEN_OFF", 16800)
local LENGTH_BARS = env_num("CONTINUO_LENGTH_BARS", 1)
local EXPORT_SECONDS = env_num("CONTINUO_EXPORT_SECONDS", SECONDS)
local SKIP_EXPORT = os.getenv("CONTINUO_SKIP_EXPORT") == "1"
local SKIP_LIVE1 = os.getenv("CONTINUO_SKIP_LIVE1") == "1"
local SESSION_NAME = "continuo"
local EXPORT_NAME = "continuo_export"
-- tests/host/ardour/export/continuo-float.preset: "BWAV 32float Export" format, no dither,
-- no normalisation, file name = the export name.
local PRESET_UUID = "6c0b5a3e-7c1e-4f0e-9d8a-c0417100f001"

-- Parameter indices of Continuo as Ardour lists them (checked by name below).
local P_TEMPERATURE, P_LENGTH, P_GENERATE = 2, 7, 10

local function log(...)
	print("[A]", ...)
	io.stdout:flush()
end
-- Stage markers go to stderr, interleaved with the plugin's log lines.
local function mark(stage, what)
	io.stderr:write(string.format("=== STAGE %s %s ===\n", stage, what))
	io.stderr:flush()
	log(string.format("stage %s %s", stage, what))
end
local function now_s() return ARDOUR.LuaAPI.monotonic_time() / 1e6 end

-- Engine ---------------------------------------------------------------------------------------
start_dummy_engine(SR, BUFFER)

-- Session --------------------------------------------------------------------------------------
assert(create_session(SESSION_DIR, SESSION_NAME, SR), "create_session failed")
-- A new session's tempo map is 120 BPM 4/4: one bar = 96000 frames at 48 kHz. Set it anyway.
do
	local tm = Temporal.TempoMap.fetch_writable()
	tm:set_tempo(Temporal.Tempo(120, 120, 4), Temporal.timepos_t(0))
	Temporal.TempoMap.update(tm)
	local r = Temporal.TempoMap.read()
	log("tempo (quarters per minute) at 0:", r:quarters_per_minute_at(Temporal.timepos_t(0)))
end

local tl = Session:new_audio_track(2, 2, nil, 1, "Continuo", ARDOUR.PresentationInfo.max_order,
	ARDOUR.TrackMode.Normal, true)
local track = tl:front()
assert(not track:isnil())

local proc = ARDOUR.LuaAPI.new_plugin(Session, "Continuo", ARDOUR.PluginType.VST3, "")
assert(not proc:isnil(), "Continuo VST3 not found: run ardour-vst3-scanner on the bundle (run.sh does)")
assert(track:add_processor_by_index(proc, 0, nil, true))
local probe = ARDOUR.LuaAPI.new_luaproc(Session, "Continuo Probe")
assert(not probe:isnil(), "probe Lua DSP not found: put scripts/ on ARDOUR_DATA_PATH (run.sh does)")
assert(track:add_processor_by_index(probe, 1, nil, true))

local insert = proc:to_insert()
local plug = insert:plugin(0)
for _, pair in ipairs({ { P_TEMPERATURE, "Temperature" }, { P_LENGTH, "Length" }, { P_GENERATE, "Generate" } }) do
	assert(plug:parameter_label(pair[1]) == pair[2],
		string.format("parameter %d is %s, expected %s", pair[1], plug:parameter_label(pair[1]), pair[2]))
end
log("route latency", track:signal_latency(), "playback latency", track:playback_latency())

-- Parameters and automation --------------------------------------------------------------------
ARDOUR.LuaAPI.set_processor_param(proc, P_LENGTH, LENGTH_BARS) -- plain value, in bars

local function auto_control(index)
	return insert:to_automatable():automation_control(
		Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, index), false)
end

do -- Generate: 0 until GEN_ON, 1 until GEN_OFF, then 0 (a toggle: no interpolation)
	local _, cl = ARDOUR.LuaAPI.plugin_automation(proc, P_GENERATE)
	cl:add(Temporal.timepos_t(0), 0, false, false)
	cl:add(Temporal.timepos_t(GEN_ON - 1), 0, false, false)
	cl:add(Temporal.timepos_t(GEN_ON), 1, false, false)
	cl:add(Temporal.timepos_t(GEN_OFF - 1), 1, false, false)
	cl:add(Temporal.timepos_t(GEN_OFF), 0, false, false)
	auto_control(P_GENERATE):set_automation_state(ARDOUR.AutoState.Play)
end
do -- Temperature: a ramp 0.5 -> 1.5 over the stage
	local _, cl = ARDOUR.LuaAPI.plugin_automation(proc, P_TEMPERATURE)
	cl:add(Temporal.timepos_t(0), 0.5, false, false)
	cl:add(Temporal.timepos_t(math.max(SECONDS, EXPORT_SECONDS) * SR), 1.5, false, false)
	auto_control(P_TEMPERATURE):set_automation_state(ARDOUR.AutoState.Play)
end
log("automation states (Play = " .. tostring(ARDOUR.AutoState.Play) .. "):",
	auto_control(P_GENERATE):automation_state(), auto_control(P_TEMPERATURE):automation_state())

-- Probe readout --------------------------------------------------------------------------------
local BAR = 4 * 60 / 120 * SR -- 96000
local function probe_mem() return probe:to_insert():plugin(0):to_luaproc():shmem():to_int(0):array() end
local function probe_reset()
	local a = probe_mem()
	a[1] = 0
	a[2] = 0
end
local function probe_dump(stage)
	local a = probe_mem()
	local names = { [0] = "offset", [1] = "onset", [2] = "jump", [3] = "stopped-sound" }
	log(string.format("probe %s: %d events, %d cycles", stage, a[1], a[2]))
	for i = 0, a[1] - 1 do
		local kind = a[3 + 3 * i]
		local pos = a[4 + 3 * i] + a[5 + 3 * i] * 16777216
		print(string.format("[probe] %s %s %d (bar %.6f, %+d frames from bar %d)", stage, names[kind] or "?",
			pos, 1 + pos / BAR, pos - math.floor(pos / BAR + 0.5) * BAR, math.floor(pos / BAR + 0.5) + 1))
	end
	io.stdout:flush()
end

-- Let the engine run a moment so the plugin has processed the new parameter values.
ARDOUR.LuaAPI.usleep(500000)

-- Live roll ------------------------------------------------------------------------------------
local RT = ARDOUR.TransportRequestSource.TRS_UI
local function roll(stage)
	probe_reset()
	Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, RT)
	local t0 = now_s()
	while Session:transport_sample() ~= 0 and now_s() - t0 < 5 do ARDOUR.LuaAPI.usleep(10000) end
	ARDOUR.LuaAPI.usleep(200000)
	mark(stage, "begin")
	t0 = now_s()
	Session:request_roll(RT)
	while Session:transport_sample() < SECONDS * SR do
		ARDOUR.LuaAPI.usleep(10000)
		assert(now_s() - t0 < SECONDS * 3 + 10, "transport did not advance")
	end
	Session:request_stop(false, false, RT)
	while Session:transport_rolling() do ARDOUR.LuaAPI.usleep(10000) end
	ARDOUR.LuaAPI.usleep(200000)
	mark(stage, "end")
	log(string.format("%s: stopped at %d after %.2f s wall", stage, Session:transport_sample(), now_s() - t0))
	probe_dump(stage)
end

if not SKIP_LIVE1 then roll("live1") end

-- Export ---------------------------------------------------------------------------------------
if not SKIP_EXPORT then
	probe_reset()
	local e = Session:simple_export()
	e:set_name(EXPORT_NAME)
	e:set_folder(EXPORT_DIR)
	e:set_range(0, EXPORT_SECONDS * SR)
	assert(e:set_preset(PRESET_UUID), "export preset not found: put export/ on ARDOUR_DATA_PATH")
	assert(e:check_outputs(), "nothing to export (master outputs?)")
	mark("export", "begin")
	local t0 = now_s()
	local ok = e:run_export()
	mark("export", "end")
	log(string.format("export: run_export -> %s after %.2f s wall; file %s/%s.wav", tostring(ok), now_s() - t0,
		EXPORT_DIR, EXPORT_NAME))
	probe_dump("export")
	ARDOUR.LuaAPI.usleep(500000)
end

-- Live again, after the export -----------------------------------------------------------------
roll("live2")

-- Save -----------------------------------------------------------------------------------------
-- Park the playhead at 0 (automation is in Play, so Temperature is evaluated there: the reloaded
-- session starts at 0 too, and the chunks compare like with like), then let the engine run so
-- the plugin has seen the values: saving straight away writes a stale chunk.
Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, RT)
ARDOUR.LuaAPI.usleep(1000000)
log("playhead before save", Session:transport_sample())
mark("save", "begin")
Session:save_state("", false, false, false, false, false)
mark("save", "end")
log("saved", SESSION_DIR .. "/" .. SESSION_NAME .. ".ardour")
close_session()
log("done")
