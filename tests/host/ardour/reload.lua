-- Reload a session saved by live_export.lua in a fresh ardour7-lua process, let the engine run,
-- and save it again as a new snapshot, so the driver (run.sh) can compare Continuo's state chunk
-- before (continuo.ardour) and after (reloaded.ardour) the round trip.
--
-- Environment (run.sh sets the rest):
--   CONTINUO_SESSION_DIR   the session folder written by live_export.lua   required
--   CONTINUO_SNAPSHOT      the snapshot name to write                      default "reloaded"
--   CONTINUO_BUFFER        engine block size in frames                     default 1024

dofile(assert(os.getenv("CONTINUO_ARDOUR_DIR"), "set CONTINUO_ARDOUR_DIR (run.sh does)") .. "/common.lua")

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

start_dummy_engine(SR, BUFFER)

mark("load", "begin")
assert(load_session(SESSION_DIR, "continuo"), "load_session failed")
mark("load", "end")

-- Find Continuo and print what Ardour restored.
local proc, route = find_processor("Continuo")
assert(proc, "Continuo not found in the reloaded session")
local plug = proc:to_insert():plugin(0)
for _, idx in ipairs({ 2, 7, 10 }) do
	log(string.format("%s: %s = %s", route:name(), plug:parameter_label(idx),
		tostring(ARDOUR.LuaAPI.get_processor_param(proc, idx))))
end

-- Let the engine run (transport stopped) so the plugin settles, then save a new snapshot.
ARDOUR.LuaAPI.usleep(1000000)
mark("save", "begin")
Session:save_state(SNAPSHOT, false, false, false, false, false)
mark("save", "end")
log("saved", SESSION_DIR .. "/" .. SNAPSHOT .. ".ardour")
close_session()
log("done")
