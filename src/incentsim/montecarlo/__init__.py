"""incentsim.montecarlo."""
