Bbbox_pred_4J ôxÆCíHÂC<V‚Ca[‰C(î©C’Œ–C
‡MC,»ˆC