-- search_any: users with a search in the window that holds any keyword and no excluded one.
-- p_scalars: one row of scalar params (dt_from, dt_to, match, ...); p_<list>: value, needle.
-- adtarget_haystack() normalises the text as the segment matcher does (NFKC, case folding;
-- token mode frames whole words with spaces), so instr() over needles is a literal match.
SELECT s.adid
FROM (
  SELECT l.adid, adtarget_haystack(l.query, c.match) AS hay
  FROM adtarget.search_log l CROSS JOIN p_scalars c
  WHERE l.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
) s
WHERE EXISTS (SELECT 1 FROM p_keywords k WHERE instr(s.hay, k.needle) > 0)
  AND NOT EXISTS (SELECT 1 FROM p_exclude_keywords x WHERE instr(s.hay, x.needle) > 0)
