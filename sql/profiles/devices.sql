-- Device class and OS from the day's user attributes snapshot.
SELECT adid, device, os, :day AS updated_day
FROM adtarget.user_attributes
WHERE dt = :day
