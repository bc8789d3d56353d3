"""The heart by ultrasound (issue 16): the subcostal four-chamber view of a FAST scan."""
