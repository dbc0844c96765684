/* A shared object that is not a tavern module (no tavern_module_info): refused. */
int no_info_answer(void);

int no_info_answer(void)
{
    return 42;
}
