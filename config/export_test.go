package config

// MinScrubLen is minScrubLen, for the fuzz test of package config_test.
const MinScrubLen = minScrubLen
