-- high_value: users whose conversions in the window are worth at least min_total_value.
SELECT v.adid
FROM adtarget.conversion_log v
WHERE v.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
GROUP BY v.adid
HAVING sum(v.value) >= (SELECT min_total_value FROM p_scalars)
