-- Reload a session saved by live_export.lua in a fresh ardour7-lua process, let the engine run,
-- and save it again as a new snapshot, so the driver (run.sh) can compare Continuo's state chunk
-- before (continuo.ardour) and after (reloaded.ardour) the round trip.
--
-- Environment (run.sh sets the rest):
--   CONTINUO_SESSION_DIR   the session folder written by live_export.lua   required
--   CONTINUO_SNAPSHOT      the snapshot name to write                      default "reloaded"
--   CONTINUO_BUFFER        engine block size in frames                     default 1024

local SR = 48000
local SESSION_DIR = assert(os.getenv("CONTINUO_SESSION_DIR"), "set CONTINUO_SESSION_DIR")
local SNAPSHOT = os.getenv("CONTINUO_SNAPSHOT") or "reloaded"
local BUFFER = tonumber(os.getenv("CONTINUO_BUFFER") or "1024")

local function log(...)
	print("[R]", ...)
	io.stdout:flush()
end
local function mark(stage, what)
	io.stderr:write(string.format("=== STAGE %s %s ===\n", stage, what))
	io.stderr:flush()
	log(string.format("stage %s %s", stage, what))
end

local be = AudioEngine:set_backend("None (Dummy)", "", "")
assert(not be:isnil(), "no Dummy backend")
be:set_device_name("Silence")
be:set_sample_rate(SR)
be:set_buffer_size(BUFFER)
assert(AudioEngine:start(false) == 0, "engine did not start")

mark("load", "begin")
assert(load_session(SESSION_DIR, "continuo"), "load_session failed")
mark("load", "end")

-- Find Continuo and print what Ardour restored.
local found = false
for r in Session:get_routes():iter() do
	local i = 0
	while true do
		local proc = r:nth_plugin(i)
		if proc:isnil() then break end
		local plug = proc:to_insert():plugin(0)
		if plug:name() == "Continuo" then
			found = true
			for _, idx in ipairs({ 2, 7, 10 }) do
				log(string.format("%s: %s = %s", r:name(), plug:parameter_label(idx),
					tostring(ARDOUR.LuaAPI.get_processor_param(proc, idx))))
			end
		end
		i = i + 1
	end
end
assert(found, "Continuo not found in the reloaded session")

-- Let the engine run (transport stopped) so the plugin settles, then save a new snapshot.
ARDOUR.LuaAPI.usleep(1000000)
mark("save", "begin")
Session:save_state(SNAPSHOT, false, false, false, false, false)
mark("save", "end")
log("saved", SESSION_DIR .. "/" .. SNAPSHOT .. ".ardour")
close_session()
log("done")
