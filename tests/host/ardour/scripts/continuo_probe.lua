ardour {
	["type"]    = "dsp",
	name        = "Continuo Probe",
	category    = "Utility",
	license     = "MIT",
	author      = "continuo tests",
	description = [[Pass-through; logs onsets/offsets of non-silent audio with the session sample position into shared memory]]
}

-- Used by tests/host/ardour/live_export.lua, after Continuo on the same track. Reads the
-- session position with Session:transport_sample () at the start of each cycle (the route and
-- the plugin have no latency here, so that is the position the plugin is told), and scans
-- channel 1 sample by sample: an onset is the first sample with |x| > 1e-6 after silence, an
-- offset the first sample of a run of >= 10 ms below that.
--
-- shmem layout (int32): [0] = number of events, [1] = cycles seen,
-- then events of 3 ints: kind (1 = onset, 0 = offset, 2 = transport jump, 3 = sound while stopped), position lo, position hi
-- (positions split into 2 x 24 bits: Lua numbers go through int32 here).
-- The session script resets [0] and [1] between stages, while the transport is stopped.
local MAXEV = 200

function dsp_ioconfig ()
	return { [1] = { audio_in = -1, audio_out = -1 } }
end

function dsp_init (rate)
	sounding = false
	stopped_sound = false
	expected = -1
	quiet_run = 0   -- consecutive silent samples while sounding
	quiet_start = 0
	HOLD = math.floor (rate / 100) -- 10 ms of silence ends a sound
end

function dsp_configure (ins, outs)
	n_audio = ins:n_audio ()
	self:shmem ():allocate (2 + 3 * MAXEV)
	self:shmem ():clear ()
end

local function log_event (kind, pos)
	local shm = self:shmem ()
	local a = shm:to_int (0):array ()
	local n = a[1]
	if n >= MAXEV then return end
	a[3 + 3 * n] = kind
	a[4 + 3 * n] = pos % 16777216
	a[5 + 3 * n] = math.floor (pos / 16777216)
	a[1] = n + 1
end

function dsp_runmap (bufs, in_map, out_map, n_samples, offset)
	local a = self:shmem ():to_int (0):array ()
	a[2] = a[2] + 1
	local pos = Session:transport_sample ()
	if not Session:transport_rolling () then
		-- Sound while stopped (a take that started by itself) is logged once per stop.
		local ib = in_map:get (ARDOUR.DataType ("audio"), 0)
		if not stopped_sound and ib ~= ARDOUR.ChanMapping.Invalid then
			local d = bufs:get_audio (ib):data (offset):array ()
			for i = 1, n_samples do
				if math.abs (d[i]) > 1e-6 then
					stopped_sound = true
					log_event (3, pos)
					break
				end
			end
		end
		expected = -1
		return
	end
	stopped_sound = false
	if pos ~= expected then
		-- the transport moved (locate, new roll): start over
		log_event (2, pos)
		sounding = false
		quiet_run = 0
	end
	expected = pos + n_samples
	local ib = in_map:get (ARDOUR.DataType ("audio"), 0)
	if ib == ARDOUR.ChanMapping.Invalid then return end
	local d = bufs:get_audio (ib):data (offset):array ()
	for i = 1, n_samples do
		local nz = math.abs (d[i]) > 1e-6
		if not sounding then
			if nz then
				sounding = true
				quiet_run = 0
				log_event (1, pos + i - 1)
			end
		elseif nz then
			quiet_run = 0
		else
			if quiet_run == 0 then quiet_start = pos + i - 1 end
			quiet_run = quiet_run + 1
			if quiet_run >= HOLD then
				sounding = false
				log_event (0, quiet_start)
			end
		end
	end
end
