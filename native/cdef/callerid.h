/* cffi declarations: callerid.h */
enum cid_standard { CID_NONE = 0, CID_BELL202 = 1, CID_V23 = 2, CID_DTMF = 5 };
#define CID_MAX 32
typedef struct { char number[33]; char name[33]; char absence; } cid_info_t;
