-- Shared by the session scripts (loaded with dofile from $CONTINUO_ARDOUR_DIR, which run.sh
-- sets): starting the engine, and finding a processor in the loaded session.

-- Ardour's "None (Dummy)" backend on its "Silence" device. It must run before create_session
-- or load_session (without it those segfault).
function start_dummy_engine(rate, buffer)
	local be = AudioEngine:set_backend("None (Dummy)", "", "")
	assert(not be:isnil(), "no Dummy backend")
	be:set_device_name("Silence")
	be:set_sample_rate(rate)
	be:set_buffer_size(buffer)
	assert(AudioEngine:start(false) == 0, "engine did not start")
end

-- The first processor on any route whose display name or plugin name is `name`, or nil.
function find_processor(name)
	for r in Session:get_routes():iter() do
		local i = 0
		while true do
			local proc = r:nth_plugin(i)
			if proc:isnil() then break end
			if proc:display_name() == name or proc:to_insert():plugin(0):name() == name then return proc, r end
			i = i + 1
		end
	end
	return nil
end
