"""Page registrations shipped with labjoin, loaded through entry points like any other package's."""
