-- campaign_conversion: users who converted on the campaigns (of the types, if any given).
SELECT v.adid
FROM adtarget.conversion_log v CROSS JOIN p_scalars c
WHERE v.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to FROM p_scalars)
  AND v.campaign_id IN (SELECT value FROM p_campaign_ids)
  AND (c.any_conversion_types OR v.conversion_type IN (SELECT value FROM p_conversion_types))
