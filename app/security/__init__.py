"""Protection against abuse: rate limits shared by every worker through the database."""
