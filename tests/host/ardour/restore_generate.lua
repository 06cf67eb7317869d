-- A project saved with Continuo's Generate parameter on must not start a take when it is opened.
-- Ardour restores plugin parameters as its own controls, i.e. as parameter changes the plugin
-- sees in its first blocks after activation, exactly like automation.
--
-- CONTINUO_MODE=save    new session: a track with Continuo (Length 1 bar) and the probe, Generate
--                       set on by hand (no automation lane), saved with Generate on
-- CONTINUO_MODE=reload  opens that session, waits 3 s with the transport stopped, then rolls 5 s
--                       from 0, and prints every probe event ("[probe] reopen ..."): a take that
--                       started by itself shows as "stopped-sound" or "onset"
--
-- Environment: CONTINUO_SESSION_DIR (a new folder for save, the saved one for reload),
-- CONTINUO_BUFFER (default 1024). run.sh sets up Ardour's paths and the plugin scan.

dofile(assert(os.getenv("CONTINUO_ARDOUR_DIR"), "set CONTINUO_ARDOUR_DIR (run.sh does)") .. "/common.lua")

local SR = 48000
local SESSION_DIR = assert(os.getenv("CONTINUO_SESSION_DIR"), "set CONTINUO_SESSION_DIR")
local MODE = assert(os.getenv("CONTINUO_MODE"), "set CONTINUO_MODE to save or reload")
local BUFFER = tonumber(os.getenv("CONTINUO_BUFFER") or "1024")
local NAME = "generate_on"
local P_LENGTH, P_GENERATE = 7, 10
local RT = ARDOUR.TransportRequestSource.TRS_UI

local function log(...)
	print("[G]", ...)
	io.stdout:flush()
end

start_dummy_engine(SR, BUFFER)

if MODE == "save" then
	assert(create_session(SESSION_DIR, NAME, SR), "create_session failed")
	local track = Session:new_audio_track(2, 2, nil, 1, "Continuo", ARDOUR.PresentationInfo.max_order,
		ARDOUR.TrackMode.Normal, true):front()
	local proc = ARDOUR.LuaAPI.new_plugin(Session, "Continuo", ARDOUR.PluginType.VST3, "")
	assert(not proc:isnil(), "Continuo VST3 not found: run ardour-vst3-scanner on the bundle (run.sh does)")
	assert(track:add_processor_by_index(proc, 0, nil, true))
	local probe = ARDOUR.LuaAPI.new_luaproc(Session, "Continuo Probe")
	assert(not probe:isnil(), "probe Lua DSP not found")
	assert(track:add_processor_by_index(probe, 1, nil, true))
	assert(proc:to_insert():plugin(0):parameter_label(P_GENERATE) == "Generate")
	ARDOUR.LuaAPI.set_processor_param(proc, P_LENGTH, 1)
	ARDOUR.LuaAPI.set_processor_param(proc, P_GENERATE, 1)
	-- The take this starts plays out (2 s) while the engine runs; then save with Generate on.
	ARDOUR.LuaAPI.usleep(3000000)
	log("Generate before save:", ARDOUR.LuaAPI.get_processor_param(proc, P_GENERATE))
	Session:save_state("", false, false, false, false, false)
	close_session()
	log("saved")
else
	assert(load_session(SESSION_DIR, NAME), "load_session failed")
	local proc = assert(find_processor("Continuo"), "Continuo not found in the reopened session")
	local probe = assert(find_processor("Continuo Probe"), "probe not found in the reopened session")
	log("Generate after reopening:", ARDOUR.LuaAPI.get_processor_param(proc, P_GENERATE))
	ARDOUR.LuaAPI.usleep(3000000)
	Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, RT)
	ARDOUR.LuaAPI.usleep(200000)
	Session:request_roll(RT)
	local t0 = ARDOUR.LuaAPI.monotonic_time()
	while Session:transport_sample() < 5 * SR do
		ARDOUR.LuaAPI.usleep(10000)
		assert(ARDOUR.LuaAPI.monotonic_time() - t0 < 30e6, "transport did not advance")
	end
	Session:request_stop(false, false, RT)
	while Session:transport_rolling() do ARDOUR.LuaAPI.usleep(10000) end
	local a = probe:to_insert():plugin(0):to_luaproc():shmem():to_int(0):array()
	local names = { [0] = "offset", [1] = "onset", [2] = "jump", [3] = "stopped-sound" }
	log(string.format("probe: %d events, %d cycles", a[1], a[2]))
	for i = 0, a[1] - 1 do
		print(string.format("[probe] reopen %s %d", names[a[3 + 3 * i]] or "?",
			a[4 + 3 * i] + a[5 + 3 * i] * 16777216))
	end
	io.stdout:flush()
	close_session()
	log("done")
end
