/* cffi declarations: common.h */
#define FRAME_SAMPLES 160
#define SAMPLE_RATE 8000
enum law { LAW_ALAW = 0, LAW_ULAW = 1 };
enum err { ERR_OK = 0, ERR_CHANNEL = -1, ERR_STATE = -2, ERR_ARG = -3, ERR_NOMEM = -4,
           ERR_PLAN = -5, ERR_PROMPT = -6, ERR_KIND = -7, ERR_BOARD = -8, ERR_AUDIO = -9 };
