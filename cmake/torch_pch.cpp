int s3e_torch_pch_anchor = 0;
