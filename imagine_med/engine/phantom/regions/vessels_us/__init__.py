"""Linear-probe vessel views with colour Doppler (issue 16): the carotid and jugular."""
