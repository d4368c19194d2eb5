-- demographic: every user known on the as-of day; the demographic filters narrow it down.
SELECT u.adid
FROM adtarget.user_attributes u
WHERE u.dt = (SELECT as_of FROM p_scalars)
