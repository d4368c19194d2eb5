-- high_value: users whose conversions in the window are worth at least min_total_value.
SELECT v.adid
FROM adtarget.conversion_log v CROSS JOIN p_scalars c
WHERE v.dt BETWEEN c.dt_from AND c.dt_to
GROUP BY v.adid
HAVING sum(v.value) >= (SELECT min_total_value FROM p_scalars)
