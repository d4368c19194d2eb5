"""The profile API: what the ad server asks about one user, answered within a deadline."""
