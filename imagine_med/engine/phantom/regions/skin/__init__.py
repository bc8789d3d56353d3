"""The skin region (issue 18): layered skin by Fitzpatrick type and dermoscopic lesions."""
