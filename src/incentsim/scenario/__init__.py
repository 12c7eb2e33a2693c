"""incentsim.scenario."""
