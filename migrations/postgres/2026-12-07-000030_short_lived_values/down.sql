DROP TABLE short_lived_values;
