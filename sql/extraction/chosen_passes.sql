-- For each segment and day of its window, the newest signal pass that holds its current definition
-- (a day may have been passed more than once: the daily pass, catch-ups for new segments).
SELECT dt, pass, segment_id FROM (
  SELECT /*+ BROADCAST(s) */ l.dt, l.pass, l.segment_id,
         row_number() OVER (PARTITION BY l.dt, l.segment_id ORDER BY l.written_at DESC, l.pass) AS n
  FROM adtarget.segment_signal_pass l
  JOIN extraction_segments s ON s.segment_id = l.segment_id AND s.definition = l.definition
  WHERE l.dt BETWEEN s.dt_from AND s.dt_to AND l.dt >= :dt_from AND l.dt <= :dt
) c
WHERE n = 1
