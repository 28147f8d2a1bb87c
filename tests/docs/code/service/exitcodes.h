/* exitcodes.h — fixture for tests/docs. */
#define PH_EXIT_OK 0
#define PH_EXIT_CONFIG 1
#define PH_EXIT_PIPE_IN_USE 2
#define PH_EXIT_USAGE 64
#define PH_CLI_OK 0
#define PH_CLI_ERR_ANSWER 1
#define PH_CLI_NOT_FOUND 2
#define PH_ADMIN_FAILED 1
#define PH_ADMIN_DENIED 10
