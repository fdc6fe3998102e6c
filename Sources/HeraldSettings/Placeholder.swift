// Placeholder until settings land.
