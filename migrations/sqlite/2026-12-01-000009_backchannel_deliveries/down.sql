DROP TABLE backchannel_deliveries;
