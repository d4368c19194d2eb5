-- Members (extraction_members) narrowed by their segment's demographic filters: a segment with
-- filters keeps the users whose attributes on the day (extraction_attributes) hold one of the
-- listed values in every filtered column (a NULL list: any value).
SELECT /*+ BROADCAST(s) */ m.segment_id, m.adid
FROM extraction_members m JOIN extraction_segments s ON s.segment_id = m.segment_id
WHERE NOT s.filtered

UNION ALL

SELECT /*+ BROADCAST(s) */ m.segment_id, m.adid
FROM extraction_members m
JOIN extraction_segments s ON s.segment_id = m.segment_id
JOIN extraction_attributes u ON u.adid = m.adid
WHERE s.filtered
  AND (s.age_bands IS NULL OR array_contains(s.age_bands, u.age_band))
  AND (s.genders IS NULL OR array_contains(s.genders, u.gender))
  AND (s.regions IS NULL OR array_contains(s.regions, u.region))
  AND (s.devices IS NULL OR array_contains(s.devices, u.device))
  AND (s.oses IS NULL OR array_contains(s.oses, u.os))
