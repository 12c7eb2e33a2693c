"""incentsim.payout."""
