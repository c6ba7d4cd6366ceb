// drydock dashboard
