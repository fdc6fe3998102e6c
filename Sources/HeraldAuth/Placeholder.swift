// Placeholder until tokens land.
