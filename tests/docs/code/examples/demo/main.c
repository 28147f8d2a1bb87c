/* main.c — fixture for tests/docs: an example program's own setting and option. */
static const ph_service_setting settings[] = {{.name = "Greeting", .option = "--greeting", .type = PH_SETTING_STRING}};
