#include "app/cli.h"

int main(int argc, char** argv) { return voxgate::app::RunCli(argc, argv); }
