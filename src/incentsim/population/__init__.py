"""incentsim.population."""
