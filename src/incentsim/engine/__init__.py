"""incentsim.engine."""
