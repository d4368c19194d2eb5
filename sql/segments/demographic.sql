-- demographic: every user known on the as-of day; the demographic filters narrow it down.
SELECT u.adid
FROM adtarget.user_attributes u CROSS JOIN p_scalars c
WHERE u.dt = c.as_of
