"""Who is calling: citizens (an access token now, the My Number card next) and staff."""
