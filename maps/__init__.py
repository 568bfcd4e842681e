"""Map pages (folium/Leaflet) and heatmaps; folium is imported only here."""
